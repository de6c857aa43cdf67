// Model JSON against the examples of yellowdog-api.md (§4.2, §4.3, §4.5, §5).
#include <doctest/doctest.h>

#include "controller/yellowdog/model.hpp"

using namespace raydog::yellowdog;
using namespace std::chrono_literals;

TEST_CASE("provision request serialises like RayDog's example (§4.2)") {
  ProvisionRequest p;
  auto& u = p.requirement_template_usage;
  u.template_id = "ydid:crt:000000:abc";
  u.requirement_name = "mycluster-01-wrkrs";
  u.requirement_namespace = "my-ray";
  u.requirement_tag = "my-tag";
  u.target_instance_count = 4;
  u.images_id = "ami-0123456789abcdef0";
  u.user_data = "#!/bin/bash\n";
  u.instance_tags = {{"owner", "me"}};
  auto& pp = p.provisioned_properties;
  pp.create_node_workers = NodeWorkersTarget{"PER_NODE", 1, std::nullopt};
  pp.min_nodes = 0;
  pp.max_nodes = 4;
  pp.idle_node_shutdown = AutoShutdown{true, "PT3M"};
  pp.idle_pool_shutdown = AutoShutdown{true, "PT3M"};
  pp.worker_tag = "mycluster-01-wrkrs";
  pp.metrics_enabled = true;

  Json expected = Json::parse(R"({
    "requirementTemplateUsage": {
      "templateId": "ydid:crt:000000:abc", "requirementName": "mycluster-01-wrkrs",
      "requirementNamespace": "my-ray", "requirementTag": "my-tag", "targetInstanceCount": 4,
      "imagesId": "ami-0123456789abcdef0", "userData": "#!/bin/bash\n", "instanceTags": {"owner": "me"},
      "maintainInstanceCount": false},
    "provisionedProperties": {
      "createNodeWorkers": {"targetType": "PER_NODE", "targetCount": 1}, "minNodes": 0, "maxNodes": 4,
      "idleNodeShutdown": {"enabled": true, "timeout": "PT3M"},
      "idlePoolShutdown": {"enabled": true, "timeout": "PT3M"},
      "workerTag": "mycluster-01-wrkrs", "metricsEnabled": true}})");
  CHECK(Json(p) == expected);
  auto back = parse<ProvisionRequest>(expected);
  REQUIRE(back.ok());
  CHECK(Json(*back) == expected);
}

TEST_CASE("absent optionals are omitted, defaults always sent (§2.1)") {
  ProvisionRequest p;
  p.requirement_template_usage.template_id = "ns/tmpl";
  p.requirement_template_usage.requirement_name = "x";
  Json j = p;
  auto u = j["requirementTemplateUsage"];
  CHECK_FALSE(u.contains("imagesId"));
  CHECK_FALSE(u.contains("userData"));
  CHECK_FALSE(u.contains("instanceTags"));
  CHECK(u["targetInstanceCount"] == 0);
  CHECK(u["maintainInstanceCount"] == false);
  CHECK(j["provisionedProperties"] == Json::object());
  CHECK(j.dump().find("null") == std::string::npos);
}

TEST_CASE("work requirement create body matches §4.3") {
  WorkRequirement wr;
  wr.namespace_ = "my-ray";
  wr.name = "mycluster";
  wr.tag = "my-tag";
  TaskGroup head;
  head.name = "head-node";
  head.run_specification.task_types = {"bash"};
  head.run_specification.worker_tags = Strings{"mycluster-00-head"};
  head.run_specification.namespaces = Strings{"my-ray"};
  head.run_specification.task_timeout = "PT10M";
  head.finish_if_any_task_failed = true;
  wr.task_groups.push_back(head);
  Json expected = Json::parse(R"({
    "namespace": "my-ray", "name": "mycluster", "tag": "my-tag", "priority": 0,
    "taskGroups": [{"name": "head-node",
      "runSpecification": {"taskTypes": ["bash"], "workerTags": ["mycluster-00-head"],
                           "namespaces": ["my-ray"], "taskTimeout": "PT10M"},
      "priority": 0, "starved": false, "waitingOnDependency": false,
      "finishIfAllTasksFinished": true, "finishIfAnyTaskFailed": true}]})");
  CHECK(Json(wr) == expected);
  CHECK_FALSE(Json(wr)["taskGroups"][0]["runSpecification"].contains("exclusiveWorkers"));
}

TEST_CASE("fetched work requirement keeps unknown and read-only fields for a PUT (§4.4)") {
  Json fetched = Json::parse(R"({
    "id": "ydid:workreq:000000:9d12", "createdTime": "2026-01-02T03:04:05.678Z", "status": "RUNNING",
    "statusChangedTime": "2026-01-02T03:04:05.678Z", "namespace": "my-ray", "name": "mycluster",
    "priority": 0, "fulfilOnSubmit": false, "someFutureField": {"a": [1, 2]},
    "taskGroups": [{"id": "ydid:taskgrp:000000:9d12:1", "name": "head-node", "status": "SOMETHING_NEW",
      "statusChangedTime": "2026-01-02T03:04:05.678Z",
      "taskSummary": {"statusCounts": {"EXECUTING": 1, "READY": 0}, "taskCount": 1,
                      "lastUpdatedTime": "2026-01-02T03:04:06Z", "newCounter": 3},
      "runSpecification": {"taskTypes": ["bash"], "workerTags": ["t"], "retryPolicy": {"maxRetries": 0}},
      "priority": 0, "starved": false, "waitingOnDependency": false,
      "finishIfAllTasksFinished": true, "finishIfAnyTaskFailed": true, "groupExtra": "x"}]})");
  auto wr = parse<WorkRequirement>(fetched);
  REQUIRE(wr.ok());
  CHECK(*wr->id == "ydid:workreq:000000:9d12");
  CHECK(*wr->status == "RUNNING");
  CHECK(wr->status->known());
  REQUIRE(wr->task_groups.size() == 1);
  const auto& g = wr->task_groups[0];
  CHECK(g.status->str() == "SOMETHING_NEW");
  CHECK_FALSE(g.status->known());
  CHECK(g.task_summary->count("EXECUTING") == 1);
  CHECK(g.task_summary->count("FAILED") == 0);
  CHECK(wr->find_group("head-node") == &wr->task_groups[0]);
  CHECK(wr->find_group("nope") == nullptr);
  // Round trip is lossless.
  CHECK(Json(*wr) == fetched);

  // Append a group as add_worker_pool does and check the old content is intact.
  TaskGroup extra;
  extra.name = "worker-nodes-01";
  extra.run_specification.task_types = {"bash"};
  wr->task_groups.push_back(extra);
  Json put = *wr;
  CHECK(put["someFutureField"] == fetched["someFutureField"]);
  CHECK(put["taskGroups"][0] == fetched["taskGroups"][0]);
  CHECK_FALSE(put["taskGroups"][1].contains("id"));
}

TEST_CASE("task array of §4.5 and a fetched task with errors") {
  Task t;
  t.name = "task-00003";
  t.task_type = "bash";
  t.arguments = {"taskdata.txt"};
  t.task_data = "#!/usr/bin/bash\nray start --block\n";
  t.environment = {{"RAY_HEAD_IP", "10.0.1.23"}, {"RAY_HEAD_NODE_PRIVATE_IP", "10.0.1.23"}};
  Json j = std::vector<Task>{t};
  CHECK(j == Json::parse(R"([{"name": "task-00003", "taskType": "bash", "arguments": ["taskdata.txt"],
    "taskData": "#!/usr/bin/bash\nray start --block\n",
    "environment": {"RAY_HEAD_IP": "10.0.1.23", "RAY_HEAD_NODE_PRIVATE_IP": "10.0.1.23"}}])"));

  auto fetched = parse<Task>(Json::parse(R"({"id": "ydid:task:000000:1:1:1", "status": "FAILED",
    "taskGroupId": "ydid:taskgrp:000000:1:1", "workerId": "ydid:wrkr:000000:n:1", "nodeId": "ydid:node:000000:n",
    "retryCount": 0, "name": "task-00001", "taskType": "bash",
    "errors": [{"timestamp": "2026-01-02T03:04:05Z", "error": "node lost", "errorType": "ALLOCATION_LOST",
                "statusAtFailure": "EXECUTING", "processExitCode": 137, "causedFailure": true}]})"));
  REQUIRE(fetched.ok());
  CHECK(*fetched->status == "FAILED");
  CHECK(is_fatal_while_waiting(*fetched->status));
  REQUIRE(fetched->errors.size() == 1);
  CHECK(fetched->errors[0].error_type == "ALLOCATION_LOST");
  CHECK(*fetched->errors[0].process_exit_code == 137);
  CHECK(*fetched->worker_id == "ydid:wrkr:000000:n:1");
}

TEST_CASE("worker pool, node, instance, compute requirement, slices") {
  auto pool = parse<WorkerPool>(Json::parse(R"({"type": "co.yellowdog.platform.model.ProvisionedWorkerPool",
    "id": "ydid:wrkrpool:000000:d66b", "name": "c-00-head", "namespace": "ray", "status": "IDLE",
    "expectedNodeCount": 1, "awaitingNodes": false,
    "workerSummary": {"statusCounts": {"STOPPED": 1}, "claimedWorkerCount": 0},
    "nodeSummary": {"statusCounts": {"RUNNING": 1}, "actionQueueStatuses": {}},
    "properties": {"workerTag": "c-00-head", "maxNodes": 1, "minNodes": 0},
    "computeRequirementId": "ydid:compreq:000000:aa"})"));
  REQUIRE(pool.ok());
  CHECK(pool->provisioned());
  CHECK(*pool->compute_requirement_id == "ydid:compreq:000000:aa");
  CHECK(pool->node_summary->count("RUNNING") == 1);
  CHECK(*pool->properties->worker_tag == "c-00-head");
  CHECK(pool->worker_summary->extra["claimedWorkerCount"] == 0);

  auto node =
      parse<Node>(Json::parse(R"({"id": "ydid:node:d9c548:f9d5", "workerPoolId": "ydid:wrkrpool:000000:d66b",
    "status": "RUNNING", "details": {"instanceId": "i-0abc", "privateIpAddress": "10.0.0.5",
    "supportedTaskTypes": ["bash"], "workerTag": "c-00-head", "vcpus": 2, "ram": 4.0},
    "workers": [{"id": "ydid:wrkr:d9c548:f9d5:1", "status": "RUNNING", "taskGroupId": "g"}]})"));
  REQUIRE(node.ok());
  CHECK(*node->details.private_ip_address == "10.0.0.5");
  CHECK_FALSE(node->details.public_ip_address);
  CHECK(node->workers.at(0).status == "RUNNING");

  auto slice = parse<Slice<Instance>>(Json::parse(R"({"items": [
    {"type": "co.yellowdog.platform.model.AwsInstance", "id": {"sourceId": "s", "instanceId": "i-0abc"},
     "privateIpAddress": "10.0.0.5", "publicIpAddress": "54.1.2.3", "status": "RUNNING", "instanceLifecycle": "spot"},
    {"type": "co.yellowdog.platform.model.AwsInstance", "id": {"sourceId": "s", "instanceId": "i-0def"},
     "privateIpAddress": "10.0.0.6", "publicIpAddress": null, "status": "PENDING"}], "nextSliceId": "abc"})"));
  REQUIRE(slice.ok());
  CHECK(slice->items.size() == 2);
  CHECK(*slice->next_slice_id == "abc");
  CHECK(*slice->items[0].public_ip_address == "54.1.2.3");
  CHECK_FALSE(slice->items[1].public_ip_address);
  CHECK(slice->items[0].extra["instanceLifecycle"] == "spot");

  auto last = parse<Slice<WorkerPoolSummary>>(Json::parse(R"({"items": [], "nextSliceId": null})"));
  REQUIRE(last.ok());
  CHECK_FALSE(last->next_slice_id);

  auto cr = parse<ComputeRequirement>(Json::parse(
      R"({"id": "ydid:compreq:000000:aa", "status": "TERMINATING", "nextStatus": "TERMINATED", "name": "c"})"));
  REQUIRE(cr.ok());
  CHECK(cr->status == "TERMINATING");
  CHECK(*cr->next_status == "TERMINATED");
}

TEST_CASE("garbage and wrong types are errors naming the field, not crashes") {
  CHECK_FALSE(parse_text<WorkRequirement>("<html>bad gateway</html>").ok());
  CHECK_FALSE(parse<WorkRequirement>(Json::array()).ok());
  auto bad = parse<WorkRequirement>(Json::parse(R"({"name": 5})"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().find("WorkRequirement.name") != std::string::npos);
  auto nested =
      parse<WorkRequirement>(Json::parse(R"({"taskGroups": [{"runSpecification": {"taskTypes": 3}}]})"));
  REQUIRE_FALSE(nested.ok());
  CHECK(nested.error().find("RunSpecification.taskTypes") != std::string::npos);
  CHECK_FALSE(parse<Slice<Task>>(Json::parse(R"({"items": {"a": 1}})")).ok());
}

TEST_CASE("ISO-8601 durations in both forms (§2.1)") {
  CHECK(parse_duration("P0D") == 0ms);
  CHECK(parse_duration("PT3M") == 3min);
  CHECK(parse_duration("PT30M") == 30min);
  CHECK(parse_duration("PT1H") == 1h);
  CHECK(parse_duration("P1DT2H30S") == 24h + 2h + 30s);
  CHECK(parse_duration("PT1.5S") == 1500ms);
  CHECK(parse_duration("PT36H") == 36h);
  CHECK(parse_duration("P2W") == 14 * 24h);
  CHECK(parse_duration("-PT1S") == -1s);
  CHECK_FALSE(parse_duration(""));
  CHECK_FALSE(parse_duration("P"));
  CHECK_FALSE(parse_duration("PT"));
  CHECK_FALSE(parse_duration("P1Y"));
  CHECK_FALSE(parse_duration("PT5"));
  CHECK_FALSE(parse_duration("10m"));
  CHECK(format_duration(0ms) == "PT0S");
  CHECK(format_duration(3min) == "PT3M");
  CHECK(format_duration(24h) == "PT24H");
  CHECK(format_duration(1h + 30min) == "PT1H30M");
  CHECK(format_duration(1500ms) == "PT1.5S");
  for (auto d : {0ms, 1ms, 999ms, std::chrono::milliseconds(3723004), std::chrono::milliseconds(90061001)})
    CHECK(parse_duration(format_duration(d)) == d);
}

TEST_CASE("ISO-8601 timestamps with any precision and offsets") {
  auto t = parse_timestamp("2026-01-02T03:04:05.678Z");
  REQUIRE(t);
  CHECK(format_timestamp(*t) == "2026-01-02T03:04:05.678Z");
  CHECK(parse_timestamp("2026-01-02T03:04:05Z") == *t - 678ms);
  CHECK(parse_timestamp("2026-01-02T03:04:05.678123456Z") ==
        *t + std::chrono::microseconds(123) + std::chrono::nanoseconds(456));
  CHECK(parse_timestamp("2026-01-02T05:04:05.678+02:00") == *t);
  CHECK(parse_timestamp("2026-01-02T01:04:05.678-02:00") == *t);
  CHECK_FALSE(parse_timestamp("2026-01-02"));
  CHECK_FALSE(parse_timestamp("2026-13-02T03:04:05Z"));
  CHECK_FALSE(parse_timestamp("2026-01-02T03:04:05"));
}

TEST_CASE("enum predicates follow §6, unknown values are never finished") {
  CHECK(is_finished(WorkRequirementStatus("CANCELLED")));
  CHECK_FALSE(is_finished(WorkRequirementStatus("CANCELLING")));
  CHECK_FALSE(is_finished(WorkRequirementStatus("BRAND_NEW")));
  CHECK(is_in_progress(TaskStatus("EXECUTING")));
  CHECK(is_waiting(TaskStatus("READY")));
  CHECK(is_finished(WorkerPoolStatus("SHUTDOWN")));
  CHECK(is_gone(NodeStatus("LOST")));
  CHECK(TaskStatus("EXECUTING").known());
  CHECK_FALSE(TaskStatus("EXECUTING2").known());
}
