// raydog-operator: flags and wiring only (design §3). Each command is a few lines calling a library.
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "api/crd.hpp"
#include "api/job_crd.hpp"
#include "api/job_validation.hpp"
#include "api/validation.hpp"
#include "controller/options.hpp"
#include "controller/util/yaml_json.hpp"
#include "controller/wiring.hpp"

namespace {

// One manifest (YAML or JSON text): "valid", "skipped (...)" or its errors. 0 when not invalid.
int validate_document(const std::string& name, const std::string& text) {
  bool job = false;
  if (auto doc = raydog::yaml_to_json(text);
      doc && doc->is_object() && doc->contains("apiVersion") && (*doc)["apiVersion"].is_string()) {
    const auto api_version = (*doc)["apiVersion"].get<std::string>();
    const auto& kind = (*doc)["kind"];
    if (api_version.rfind("raydog.io/", 0) != 0) {
      std::cout << name << ": skipped (" << api_version << " "
                << (kind.is_string() ? kind.get<std::string>() : "?") << " is not a RayDogCluster)\n";
      return 0;
    }
    job = kind.is_string() && kind.get<std::string>() == raydog::api::kJobKind;
  }
  auto errors = [&]() -> raydog::api::FieldErrors {
    if (job) {
      auto parsed = raydog::api::parse_job_yaml(text);
      return parsed ? raydog::api::FieldErrors{} : parsed.error();
    }
    auto parsed = raydog::api::parse_cluster_yaml(text);
    return parsed ? raydog::api::FieldErrors{} : parsed.error();
  }();
  if (errors.empty()) {
    std::cout << name << ": valid\n";
    return 0;
  }
  for (const auto& e : errors) std::cerr << name << ": " << e.to_string() << "\n";
  return 1;
}

int validate_files(const std::vector<std::string>& files) {
  int status = 0;
  for (const auto& file : files) {
    std::string text;
    if (file == "-") {
      text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
      std::ifstream in(file, std::ios::binary);
      if (!in) {
        std::cerr << file << ": cannot read\n";
        status = 1;
        continue;
      }
      std::ostringstream buf;
      buf << in.rdbuf();
      text = buf.str();
    }
    // Every document of the file (a sample carries the ConfigMaps it needs). A manifest of another API group
    // (the credentials Secret next to a cluster, say) is not ours to judge: say so instead of failing it.
    // Anything claiming raydog.io is checked strictly.
    auto docs = raydog::yaml_documents_to_json(text);
    if (!docs || docs->size() <= 1) {  // one document (or YAML errors, reported by the parser below)
      status |= validate_document(file, text);
      continue;
    }
    for (std::size_t i = 0; i < docs->size(); ++i)
      status |= validate_document(file + " (document " + std::to_string(i + 1) + ")", (*docs)[i].dump());
  }
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto options = raydog::cli::parse_flags(args);
  if (!options) {
    std::cerr << "raydog-operator: " << options.error().message << "\n\n" << raydog::cli::usage();
    return 2;
  }
  switch (options->command) {
    case raydog::cli::Command::kHelp:
      std::cout << raydog::cli::usage() << "\nFlags of run:\n" << raydog::cli::controller_usage();
      return 0;
    case raydog::cli::Command::kVersion:
      std::cout << raydog::cli::version() << "\n";
      return 0;
    case raydog::cli::Command::kCrd:
      std::cout << (options->crd == "raydogjobs" ? raydog::api::job_custom_resource_definition_yaml()
                                                 : raydog::api::custom_resource_definition_yaml());
      return std::cout.flush() ? 0 : 1;
    case raydog::cli::Command::kValidate:
      return validate_files(options->files);
    case raydog::cli::Command::kRun: {
      auto controller = raydog::cli::parse_controller_flags(options->run_args);
      if (!controller) {
        const bool help = controller.error() == raydog::cli::controller_usage();
        (help ? std::cout : std::cerr) << (help ? "" : "raydog-operator: ") << controller.error() << "\n";
        return help ? 0 : 2;
      }
      return raydog::wiring::run_controller(*controller);
    }
  }
  return 2;
}
