#pragma once
// Command line of the raydog-operator binary. Only commands and flags that work exist (no placeholders).
// The operator itself is the `run` command, and also what runs when the first argument is a flag or there
// is none (`raydog-operator --kubeconfig FILE`, a container's bare entrypoint); its flags are parsed by
// reconcile::parse_controller_flags, so this layer stays free of the controller.
#include <string>
#include <vector>

#include "controller/util/result.hpp"

namespace raydog::cli {

enum class Command {
  Help,      // --help / -h / help: usage on stdout, exit 0
  Version,   // --version / version
  Crd,       // crd: print the CustomResourceDefinition YAML
  Validate,  // validate FILE...: decode, default and validate RayDogCluster manifests
  Run,       // run [flags] / [flags]: the operator
};

struct Options {
  Command command = Command::Help;
  std::vector<std::string> files;     // validate
  std::vector<std::string> run_args;  // run: the controller's flags, unparsed
};

struct UsageError {
  std::string message;  // what was wrong; the caller prints it with usage() and exits 2
};

// args excludes argv[0].
Result<Options, UsageError> parse_flags(const std::vector<std::string>& args);
std::string usage();
std::string version();

}  // namespace raydog::cli
