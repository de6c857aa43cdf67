#include "controller/options.hpp"

#ifndef RAYDOG_VERSION
#define RAYDOG_VERSION "0.0.0-dev"
#endif

namespace raydog::cli {

std::string version() {
  return "raydog-operator " RAYDOG_VERSION;
}

std::string usage() {
  return R"(raydog-operator: Kubernetes operator for Ray clusters on YellowDog (RayDogCluster, raydog.io/v1alpha1)

Usage:
  raydog-operator [run] [flags]     run the operator (flags below)
  raydog-operator <command> [arguments]

Commands:
  run [flags]         run the operator against the cluster of --kubeconfig / KUBECONFIG / in-cluster config
  crd                 print the RayDogCluster CustomResourceDefinition (YAML) on stdout
  validate FILE...    check RayDogCluster manifests (YAML, one document each; - reads stdin):
                      unknown fields, types, defaults, validation rules. Prints every error as
                      "FILE: path: message"; exit 1 if any manifest is invalid. Documents of
                      another API group (a Secret, say) are reported as skipped
  help                this text

Flags:
  -h, --help          this text
  --version           print the version
)";
}

Result<Options, UsageError> parse_flags(const std::vector<std::string>& args) {
  Options o;
  if (args.empty()) {
    o.command = Command::Run;
    return o;
  }
  const std::string& first = args[0];
  auto no_more = [&](const char* command) -> Result<Options, UsageError> {
    if (args.size() > 1)
      return unexpected(UsageError{std::string(command) + ": unexpected argument " + args[1]});
    return o;
  };
  if (first == "-h" || first == "--help" || first == "help") {
    o.command = Command::Help;
    return o;  // help wins over anything after it, as in most CLIs
  }
  if (first == "--version" || first == "version") {
    o.command = Command::Version;
    return no_more(first.c_str());
  }
  if (first == "crd") {
    o.command = Command::Crd;
    for (size_t i = 1; i < args.size(); ++i) {
      if (args[i] == "-h" || args[i] == "--help") {
        o.command = Command::Help;
        return o;
      }
    }
    return no_more("crd");
  }
  if (first == "validate") {
    o.command = Command::Validate;
    for (size_t i = 1; i < args.size(); ++i) {
      const std::string& a = args[i];
      if (a == "-h" || a == "--help") {
        o.command = Command::Help;
        return o;
      }
      if (a.size() > 1 && a[0] == '-') return unexpected(UsageError{"validate: unknown flag " + a});
      o.files.push_back(a);
    }
    if (o.files.empty()) return unexpected(UsageError{"validate: at least one FILE is required"});
    return o;
  }
  if (first == "run") {
    o.command = Command::Run;
    o.run_args.assign(args.begin() + 1, args.end());
    return o;
  }
  if (first.starts_with("-")) {  // the operator's flags; reconcile::parse_controller_flags judges them
    o.command = Command::Run;
    o.run_args = args;
    return o;
  }
  return unexpected(UsageError{"unknown command " + first});
}

}  // namespace raydog::cli
