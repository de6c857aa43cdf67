#pragma once
// A simulator driven through its REST surface (Api) with a controllable clock: no sockets, no sleeps.
#include <doctest/doctest.h>

#include <string>

#include "test/yellowdog-sim/api.hpp"

namespace raydog::ydsim::testing {

inline TimePoint t0() {
  return *parse_timestamp("2026-01-01T00:00:00.000Z");
}

struct Reply {
  int status = 0;
  json body;
};

struct SimFixture {
  explicit SimFixture(SimConfig cfg = {}, std::size_t page_size = 50) : sim(cfg, t0()), api(sim, page_size) {}

  Reply call(const std::string& method, const std::string& target, const json& body = nullptr) {
    return call_raw(method, target, body.is_null() ? std::string() : body.dump());
  }
  Reply call_raw(const std::string& method, const std::string& target, const std::string& body) {
    ApiResponse r = api.handle(ApiRequest{method, target, body, ""});  // authentication off in the fixture
    Reply out{r.status, r.body.empty() ? json() : json::parse(r.body)};
    return out;
  }
  json ok(const std::string& method, const std::string& target, const json& body = nullptr) {
    Reply r = call(method, target, body);
    INFO(method << " " << target << " -> " << r.status << " " << r.body.dump());
    REQUIRE(r.status == 200);
    return r.body;
  }
  // Advances simulated time in small steps, like the server's ticker.
  void advance(Millis d, Millis step = Millis(100)) {
    TimePoint end = sim.now() + d;
    while (sim.now() < end) sim.tick(std::min(end, sim.now() + step));
  }

  // RayDog-style objects.
  static json pool_body(const std::string& name, int nodes, const std::string& ns = "ray",
                        const std::string& tmpl = "ray/template") {
    return {{"requirementTemplateUsage",
             {{"templateId", tmpl},
              {"requirementName", name},
              {"requirementNamespace", ns},
              {"targetInstanceCount", nodes},
              {"maintainInstanceCount", false}}},
            {"provisionedProperties",
             {{"createNodeWorkers", {{"targetType", "PER_NODE"}, {"targetCount", 1}}},
              {"minNodes", 0},
              {"maxNodes", nodes},
              {"idleNodeShutdown", {{"enabled", true}, {"timeout", "PT3M"}}},
              {"idlePoolShutdown", {{"enabled", true}, {"timeout", "PT3M"}}},
              {"workerTag", name},
              {"metricsEnabled", true}}}};
  }
  static json group(const std::string& name, const std::string& tag, bool fail_any = false,
                    const std::string& ns = "ray") {
    return {{"name", name},
            {"runSpecification", {{"taskTypes", {"bash"}}, {"workerTags", {tag}}, {"namespaces", {ns}}}},
            {"priority", 0},
            {"starved", false},
            {"waitingOnDependency", false},
            {"finishIfAllTasksFinished", true},
            {"finishIfAnyTaskFailed", fail_any}};
  }
  static json task(const std::string& name, json env = json::object()) {
    return {{"name", name},
            {"taskType", "bash"},
            {"arguments", {"taskdata.txt"}},
            {"taskData", "#!/usr/bin/bash\nray start --block\n"},
            {"environment", env}};
  }

  Simulator sim;
  Api api;
};

}  // namespace raydog::ydsim::testing
