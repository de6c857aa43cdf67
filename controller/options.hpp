#pragma once
// Command line of the raydog-operator binary. Only commands and flags that work exist (no placeholders):
// the `run` mode (the operator itself) is added by the issue that builds it, as another Command with its
// flags in Options.
#include <string>
#include <vector>

#include "controller/util/result.hpp"

namespace raydog::cli {

enum class Command {
  Help,      // --help / -h / help: usage on stdout, exit 0
  Version,   // --version / version
  Crd,       // crd: print the CustomResourceDefinition YAML
  Validate,  // validate FILE...: decode, default and validate RayDogCluster manifests
};

struct Options {
  Command command = Command::Help;
  std::vector<std::string> files;  // validate
};

struct UsageError {
  std::string message;  // what was wrong; the caller prints it with usage() and exits 2
};

// args excludes argv[0].
Result<Options, UsageError> parse_flags(const std::vector<std::string>& args);
std::string usage();
std::string version();

}  // namespace raydog::cli
