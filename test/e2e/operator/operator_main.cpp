// raydog-operator-e2e: run_controller with test hooks, for the operator e2e tests.
//   raydog-operator-e2e [controller flags] [--yd-fault 5xx|lost|exit --yd-fault-nth N]
//     [--write-ports FILE]   (writes "<health url> <metrics url>" once listening)
//     [--record-calls FILE]  (appends one JSON line per YellowDog call and per Kubernetes request:
//                             {"t": <ms since the epoch>, "api": "yd"|"kube", "op": ..., "subject": ...};
//                             yd subject: the id or name the call concerns, "ns:<ns>" for a namespace-wide
//                             or "account:" search; kube: op "<METHOD> <code>", subject the target)
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>

#include <nlohmann/json.hpp>

#include "controller/wiring.hpp"
#include "test/e2e/operator/faulty_yellowdog.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args;
  raydog::test::FaultPlan plan;
  std::string ports_file;
  std::string record_file;
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
    } else if (a == "--record-calls" && i + 1 < argc) {
      record_file = argv[++i];
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
  raydog::test::YdCallRecorder record_yd;
  if (!record_file.empty()) {
    // Flushed line by line: a test reads the file while the operator runs.
    struct Sink {
      std::mutex mu;
      std::ofstream out;
    };
    auto sink = std::make_shared<Sink>();
    sink->out.open(record_file, std::ios::app);
    auto write = [sink](const char* api, const std::string& op, const std::string& subject) {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
      const nlohmann::json line = {{"t", ms}, {"api", api}, {"op", op}, {"subject", subject}};
      std::lock_guard<std::mutex> lock(sink->mu);
      sink->out << line.dump() << "\n" << std::flush;
    };
    record_yd = [write](const char* op, const std::string& subject) { write("yd", op, subject); };
    options->on_kube_request = [write](const std::string& method, const std::string& target, int code) {
      write("kube", method + " " + std::to_string(code), target);
    };
  }
  options->wrap_client = [plan, counter, record_yd](std::shared_ptr<raydog::yellowdog::YellowDogApi> inner)
      -> std::shared_ptr<raydog::yellowdog::YellowDogApi> {
    return std::make_shared<raydog::test::FaultyYellowDog>(std::move(inner), plan, counter, record_yd);
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
