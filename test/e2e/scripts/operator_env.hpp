#pragma once
// The node-script e2e environment with the real operator in front: kube-emulator (with the project's CRD),
// yellowdog-sim --execute-tasks with the stand-ins (ScriptEnv), and raydog-operator between them. The
// operator's tasks run the embedded scripts, so what the scripts see is what the operator gives them.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "test/e2e/scripts/script_env.hpp"

namespace raydog::test::scripts {

struct OperatorEnv {
  ScriptEnv sim;
  std::unique_ptr<ChildProcess> emulator, op;
  std::string kubeconfig;

  explicit OperatorEnv(ScriptEnvOptions options = {});
  ~OperatorEnv();

  CommandResult kubectl(std::vector<std::string> args, const std::string& stdin_data = "");
  void apply(const std::string& yaml);  // REQUIREs success
  std::optional<json> cluster(const std::string& ns, const std::string& name);
  // The namespace and the credentials Secret a cluster needs.
  void prerequisites(const std::string& ns);
  std::string operator_log();  // its tail
};

// Calls grouped by task working directory.
std::map<std::string, std::vector<Call>> by_task(const std::vector<Call>& calls);
// Whether a call of `what` contains `part`; the first such call's remainder.
bool has(const std::vector<Call>& calls, const std::string& what, const std::string& part = "");
std::string rest_of(const std::vector<Call>& calls, const std::string& what, const std::string& part = "");

}  // namespace raydog::test::scripts
