// Request shapes of §4.1: paths, query flattening (§3, §5.5), request classes, gzip (§2).
#include <doctest/doctest.h>

#include "controller/util/gzip.hpp"
#include "controller/yellowdog/requests.hpp"

using namespace raydog::yellowdog;
using raydog::gzip_decompress;

TEST_CASE("paths insert ids verbatim with literal colons (§2)") {
  auto c = calls::cancel_work_requirement("ydid:workreq:000000:9d12", true);
  CHECK(c.method == "PUT");
  CHECK(c.target == "/work/requirements/ydid:workreq:000000:9d12/transition/CANCELLING?abort=true");
  CHECK(c.operation == "PUT /work/requirements/{id}/transition/CANCELLING");
  CHECK(c.request_class == RequestClass::kIdempotent);
  CHECK_FALSE(c.body);
  CHECK(calls::cancel_work_requirement("x", false).target ==
        "/work/requirements/x/transition/CANCELLING?abort=false");
  CHECK(calls::cancel_task("ydid:task:0:1:1:1", true).target ==
        "/work/tasks/ydid:task:0:1:1:1/cancel?abort=true");
  CHECK(calls::get_node_of_worker("ydid:wrkr:a:b:1").target == "/workerPools/workers/ydid:wrkr:a:b:1/node");
  CHECK(calls::get_node("ydid:node:a:b").target == "/workerPools/nodes/ydid:node:a:b");
  CHECK(calls::get_worker_pool("ydid:wrkrpool:a:b").target == "/workerPools/ydid:wrkrpool:a:b");
  CHECK(calls::get_worker_pool_by_name("my ray", "c-00-head").target == "/workerPools/my%20ray/c-00-head");
  CHECK(calls::get_work_requirement_by_name("ray", "c").target == "/work/namespaces/ray/requirements/c");
  CHECK(calls::shut_down_worker_pool("p").method == "DELETE");
  CHECK(calls::resize_worker_pool("p", 3).target == "/workerPools/provisioned/p?size=3");
  CHECK(calls::terminate_compute_requirement("ydid:compreq:0:1").target ==
        "/compute/requirements/ydid:compreq:0:1/transition/TERMINATED");
  CHECK(calls::work_requirement_updates("w").target == "/work/requirements/w/updates");
  CHECK(calls::worker_pool_updates("p").target == "/workerPools/p/updates");
  CHECK(calls::compute_requirement_updates("c").target == "/compute/requirements/c/updates");
}

TEST_CASE("searches: sliced=true where required, repeated statuses, sliceId (§3)") {
  WorkRequirementSearch wr;
  wr.namespace_ = "my-ray";
  wr.statuses = {"RUNNING", "HELD"};
  CHECK(calls::search_work_requirements(wr, {}).target ==
        "/work/requirements?namespace=my-ray&statuses=RUNNING&statuses=HELD&sliced=true");
  CHECK(calls::search_work_requirements(wr, {"s:1", 50}).target ==
        "/work/requirements?namespace=my-ray&statuses=RUNNING&statuses=HELD&sliced=true&size=50&sliceId=s:1");
  WorkerPoolSearch wp;
  wp.name = "a&b";
  CHECK(calls::search_worker_pools(wp, {}).target == "/workerPools/?name=a%26b&sliced=true");
  TaskSearch ts;
  ts.work_requirement_id = "w";
  ts.task_group_id = "g";
  ts.statuses = {"EXECUTING"};
  CHECK(calls::search_tasks(ts, {}).target ==
        "/work/tasks?workRequirementId=w&taskGroupId=g&statuses=EXECUTING");
  CHECK(calls::search_tasks({}, {"abc", std::nullopt}).target == "/work/tasks?sliceId=abc");
  // The observer's searches: time ranges as §5.5 names them (`:` of the timestamp kept, §2).
  TaskSearch finished;
  finished.finished_time_min = "2026-12-06T23:59:01.000Z";
  CHECK(calls::search_tasks(finished, {}).target == "/work/tasks?finishedTime.min=2026-12-06T23:59:01.000Z");
  WorkRequirementSearch changed;
  changed.namespace_ = "ray";
  changed.status_changed_time_min = "2026-12-06T23:59:01.000Z";
  CHECK(calls::search_work_requirements(changed, {}).target ==
        "/work/requirements?namespace=ray&statusChangedTime.min=2026-12-06T23:59:01.000Z&sliced=true");
  InstanceSearch is;
  is.compute_requirement_id = "ydid:compreq:0:1";
  CHECK(calls::search_instances(is, {}).target == "/compute/instances?computeRequirementId=ydid:compreq:0:1");
  NodeSearch ns;
  ns.worker_pool_id = "p";
  CHECK(calls::search_nodes(ns, {}).target == "/workerPools/nodes?workerPoolId=p");
}

TEST_CASE("creates are marked as such and carry their JSON body") {
  WorkRequirement wr;
  wr.namespace_ = "ray";
  wr.name = "c";
  auto c = calls::create_work_requirement(wr);
  CHECK(c.method == "POST");
  CHECK(c.target == "/work/requirements");
  CHECK(c.request_class == RequestClass::kCreate);
  CHECK(Json::parse(*c.body)["name"] == "c");
  CHECK(calls::update_work_requirement(wr).method == "PUT");
  CHECK(calls::update_work_requirement(wr).request_class == RequestClass::kCreate);
  CHECK(calls::add_tasks("g", {Task{}}).request_class == RequestClass::kCreate);
  CHECK(calls::add_tasks("g", {Task{}}).target == "/work/taskGroups/g/tasks");
  CHECK(calls::provision_worker_pool({}).request_class == RequestClass::kCreate);
  CHECK(calls::get_task("t").request_class == RequestClass::kRead);
}

TEST_CASE("bodies over 2 KiB under /work/ are gzipped, others are not") {
  Task t;
  t.task_data = std::string(4096, 'x');
  auto big = calls::add_tasks("g", {t, t});
  auto enc = encode_body(big);
  CHECK(enc.gzip);
  CHECK(enc.bytes.size() < big.body->size());
  CHECK(static_cast<unsigned char>(enc.bytes[0]) == 0x1f);
  CHECK(static_cast<unsigned char>(enc.bytes[1]) == 0x8b);
  CHECK(gzip_decompress(enc.bytes) == *big.body);

  Task small;
  small.name = "t";
  auto s = encode_body(calls::add_tasks("g", {small}));
  CHECK_FALSE(s.gzip);
  CHECK(s.bytes == R"([{"name":"t"}])");

  ProvisionRequest p;
  p.requirement_template_usage.user_data = std::string(5000, 'u');
  auto pool = encode_body(calls::provision_worker_pool(p));
  CHECK_FALSE(pool.gzip);  // not a /work/ path
  CHECK(encode_body(calls::get_task("t")).bytes.empty());
}

