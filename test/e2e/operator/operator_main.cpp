// raydog-operator-e2e: run_controller with test hooks, for the operator e2e tests.
//   raydog-operator-e2e [controller flags] [--yd-fault 5xx|lost|exit --yd-fault-nth N]
//     [--write-ports FILE]   (writes "<health url> <metrics url>" once listening)
#include <fstream>
#include <iostream>

#include "controller/wiring.hpp"
#include "test/e2e/operator/faulty_yellowdog.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args;
  raydog::test::FaultPlan plan;
  std::string ports_file;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--yd-fault" && i + 1 < argc) {
      std::string m = argv[++i];
      using M = raydog::test::FaultPlan::Mode;
      plan.mode = m == "5xx"    ? M::kServerError
                  : m == "lost" ? M::kLostResponse
                  : m == "exit" ? M::kExit
                                : M::kNone;
    } else if (a == "--yd-fault-nth" && i + 1 < argc) {
      plan.nth = std::stoi(argv[++i]);
    } else if (a == "--write-ports" && i + 1 < argc) {
      ports_file = argv[++i];
    } else {
      args.push_back(a);
    }
  }
  auto options = raydog::cli::parse_controller_flags(args);
  if (!options) {
    std::cerr << options.error() << "\n";
    return 2;
  }
  auto counter = std::make_shared<int>(0);
  options->wrap_client = [plan, counter](std::shared_ptr<raydog::yellowdog::YellowDogApi> inner)
      -> std::shared_ptr<raydog::yellowdog::YellowDogApi> {
    return std::make_shared<raydog::test::FaultyYellowDog>(std::move(inner), plan, counter);
  };
  if (!ports_file.empty()) {
    options->on_listening = [ports_file](const std::string& health, const std::string& metrics) {
      std::ofstream tmp(ports_file + ".tmp");
      tmp << health << " " << metrics << "\n";
      tmp.close();
      std::rename((ports_file + ".tmp").c_str(), ports_file.c_str());
    };
  }
  return raydog::wiring::run_controller(*options);
}
