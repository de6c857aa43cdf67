// The RayDogJob plan without I/O: every step of a job's life from observed state to status and actions.
#include <doctest/doctest.h>

#include <regex>

#include "api/conditions.hpp"
#include "controller/jobs/job_plan.hpp"
#include "controller/util/time.hpp"

using namespace raydog;
using namespace raydog::jobs;
using namespace std::chrono_literals;
using api::JobDeploymentStatus;
using api::RayJobStatus;
using nlohmann::json;

namespace {

const TimePoint kT0 = *parse_rfc3339("2026-12-07T10:00:00Z");

api::RayDogJob ephemeral_job() {
  api::RayDogJob job;
  job.metadata.name = "train";
  job.metadata.namespace_name = "ml";
  job.metadata.uid = "0b8c5f6e-1111-2222-3333-444455556666";
  job.metadata.generation = 1;
  job.metadata.resource_version = "10";
  job.metadata.labels = std::map<std::string, std::string>{{"raydog.io/shard", "a"}};
  job.metadata.finalizers = std::vector<std::string>{std::string(kJobFinalizer)};
  job.spec.entrypoint = "python train.py";
  job.spec.cluster_spec = api::RayDogClusterSpec{};
  return job;
}

api::RayDogJob selector_job() {
  api::RayDogJob job = ephemeral_job();
  job.spec.cluster_spec.reset();
  job.spec.cluster_selector = std::map<std::string, std::string>{{"team", "ml"}};
  return job;
}

ClusterView cluster(const std::string& name, bool ready, bool owned = true) {
  ClusterView c;
  c.name = name;
  c.uid = "uid-" + name;
  c.owned = owned;
  c.ready = ready;
  if (ready) c.dashboard_url = "http://127.9.0.5:8265";
  else c.not_ready = "Provisioning: waiting for the head";
  c.head_access = api::HeadAccess::kPrivate;
  return c;
}

HeadRead found(RayJobStatus s, std::string message = "") {
  HeadRead h;
  h.kind = HeadRead::Kind::kFound;
  JobInfo info;
  info.status = s;
  info.message = std::move(message);
  h.info = info;
  return h;
}

HeadRead not_found() {
  HeadRead h;
  h.kind = HeadRead::Kind::kNotFound;
  return h;
}

// A job, its observations, and the loop that feeds each plan's status back as the next observation.
struct Run {
  explicit Run(api::RayDogJob j) : job(std::move(j)) {}
  api::RayDogJob job;
  std::vector<ClusterView> clusters;
  HeadRead head;
  TimePoint now = kT0;

  JobPlan plan() {
    JobObserved o;
    o.job = job;
    o.cluster_spec = job.spec.cluster_spec ? std::optional(json{{"yellowdog", {{"namespace", "ml"}}}}) : std::nullopt;
    o.clusters = clusters;
    o.clusters_read = true;
    o.head = head;
    o.now = now;
    JobPlan p = plan_job(o);
    if (p.status) job.status = p.status;
    return p;
  }
  const api::RayDogJobStatus& st() const { return *job.status; }
  JobDeploymentStatus ds() const { return *job.status->job_deployment_status; }
};

template <class A>
std::vector<const A*> all(const JobPlan& p) {
  std::vector<const A*> out;
  for (const auto& a : p.actions)
    if (const auto* x = std::get_if<A>(&a)) out.push_back(x);
  return out;
}

bool has_event(const JobPlan& p, const std::string& reason) {
  for (const auto* e : all<Event>(p))
    if (e->reason == reason) return true;
  return false;
}

std::string condition(const api::RayDogJobStatus& st, std::string_view type) {
  const auto* c = api::find_condition(st.conditions, type);
  return c ? c->status + "/" + c->reason : "absent";
}

// Drives an ephemeral job to Running on a Ready cluster: returns the Run with the job submitted.
Run submitted_run() {
  Run r(ephemeral_job());
  r.plan();  // new attempt
  r.clusters = {cluster(*r.st().cluster_name, true)};
  r.head = not_found();
  JobPlan p = r.plan();
  REQUIRE(all<Submit>(p).size() == 1);
  r.head = found(RayJobStatus::kRunning, "Job is currently running.");
  r.plan();
  REQUIRE(r.ds() == JobDeploymentStatus::kRunning);
  return r;
}

}  // namespace

TEST_CASE("job plan: the finalizer comes first and alone") {
  Run r(ephemeral_job());
  r.job.metadata.finalizers.reset();
  JobPlan p = r.plan();
  REQUIRE(p.actions.size() == 1);
  CHECK(std::holds_alternative<AddFinalizer>(p.actions[0]));
  CHECK_FALSE(p.status);
  CHECK(p.requeue_after);
}

TEST_CASE("job plan: a new attempt writes its ids first, then the ephemeral cluster is created with owner and labels") {
  Run r(ephemeral_job());
  JobPlan p = r.plan();
  CHECK(p.status_first);
  CHECK(p.actions.empty());
  CHECK(r.ds() == JobDeploymentStatus::kInitializing);
  const std::string id = *r.st().job_id;
  CHECK(id == submission_id(r.job, 1));
  CHECK(std::regex_match(id, std::regex("^train-[0-9a-f]{8}-1$")));
  CHECK(attempt_of(id) == 1);
  CHECK(*r.st().cluster_name == cluster_name(r.job, 1));
  CHECK(std::regex_match(*r.st().cluster_name, std::regex("^train-[0-9a-f]{5}$")));
  CHECK(*r.st().start_time == "2026-12-07T10:00:00Z");
  CHECK(condition(r.st(), "Reconciling") == "True/Initializing");
  CHECK(condition(r.st(), "Complete") == "False/Initializing");

  // The same attempt again (a crash before anything was created): the same ids, nothing new.
  Run again(r.job);
  again.job.status.reset();
  again.plan();
  CHECK(*again.st().job_id == id);

  p = r.plan();
  auto creates = all<CreateCluster>(p);
  REQUIRE(creates.size() == 1);
  const json& obj = creates[0]->object;
  CHECK(obj["kind"] == "RayDogCluster");
  CHECK(obj["metadata"]["name"] == *r.st().cluster_name);
  CHECK(obj["metadata"]["namespace"] == "ml");
  CHECK(obj["metadata"]["labels"]["raydog.io/shard"] == "a");  // a shard selector keeps job and cluster together
  CHECK(obj["metadata"]["labels"]["raydog.io/job"] == "train");
  CHECK(obj["metadata"]["ownerReferences"][0]["kind"] == "RayDogJob");
  CHECK(obj["metadata"]["ownerReferences"][0]["uid"] == r.job.metadata.uid.value());
  CHECK(obj["metadata"]["ownerReferences"][0]["controller"] == true);
  CHECK(obj["spec"]["yellowdog"]["namespace"] == "ml");
  CHECK(has_event(p, "ClusterCreated"));
  CHECK(all<Submit>(p).empty());
}

TEST_CASE("job plan: waits for Ready, submits once after a 404, follows the job to Complete and tears down") {
  Run r(ephemeral_job());
  r.job.spec.ttl_seconds_after_finished = 60;
  r.plan();
  r.clusters = {cluster(*r.st().cluster_name, false)};
  JobPlan p = r.plan();
  CHECK(p.actions.empty());
  CHECK(r.st().message->find("waiting for RayDogCluster") != std::string::npos);
  CHECK(r.st().message->find("Provisioning") != std::string::npos);
  CHECK(head_to_read(r.job, r.clusters) == std::nullopt);  // nothing to ask a head that is not up

  r.clusters = {cluster(*r.st().cluster_name, true)};
  REQUIRE(head_to_read(r.job, r.clusters) == std::optional<std::string>("http://127.9.0.5:8265"));
  r.head = not_found();
  p = r.plan();
  auto submits = all<Submit>(p);
  REQUIRE(submits.size() == 1);
  CHECK(submits[0]->submission.submission_id == *r.st().job_id);
  CHECK(submits[0]->submission.entrypoint == "python train.py");
  CHECK(submits[0]->dashboard_url == "http://127.9.0.5:8265");
  CHECK(r.ds() == JobDeploymentStatus::kRunning);
  CHECK(*r.st().dashboard_url == "http://127.9.0.5:8265");
  CHECK(has_event(p, "Submitted"));
  CHECK_FALSE(has_event(p, "DashboardUnauthenticated"));

  r.head = found(RayJobStatus::kPending, "Job has not started yet.");
  p = r.plan();
  CHECK(all<Submit>(p).empty());
  CHECK(*r.st().job_status == RayJobStatus::kPending);
  r.head = found(RayJobStatus::kRunning, "Job is currently running.");
  r.plan();
  CHECK(*r.st().job_status == RayJobStatus::kRunning);

  r.now += 30s;
  r.head = found(RayJobStatus::kSucceeded, "Job finished successfully.");
  p = r.plan();
  CHECK(r.ds() == JobDeploymentStatus::kComplete);
  CHECK(*r.st().succeeded == 1);
  CHECK(*r.st().end_time == "2026-12-07T10:00:30Z");
  CHECK(condition(r.st(), "Complete") == "True/JobFinished");
  CHECK(condition(r.st(), "Failed") == "False/Complete");
  CHECK(condition(r.st(), "Reconciling") == "False/Done");
  CHECK(has_event(p, "JobSucceeded"));

  // Finished: the ephemeral cluster goes at once (shutdownAfterJobFinishes defaults to true with a
  // clusterSpec), the job itself after its TTL.
  p = r.plan();
  auto deletes = all<DeleteCluster>(p);
  REQUIRE(deletes.size() == 1);
  CHECK(deletes[0]->name == *r.st().cluster_name);
  CHECK(deletes[0]->uid == "uid-" + *r.st().cluster_name);
  CHECK(all<DeleteJob>(p).empty());
  REQUIRE(p.requeue_after);
  CHECK(*p.requeue_after >= 60s);
  r.clusters[0].deleting = true;
  p = r.plan();
  CHECK(all<DeleteCluster>(p).empty());
  r.now += 61s;
  p = r.plan();
  REQUIRE(all<DeleteJob>(p).size() == 1);
  CHECK(all<DeleteJob>(p)[0]->uid == r.job.metadata.uid.value());
}

TEST_CASE("job plan: shutdownAfterJobFinishes false keeps the cluster until the TTL deletes the job") {
  Run r = submitted_run();
  r.job.spec.shutdown_after_job_finishes = false;
  r.head = found(RayJobStatus::kStopped, "Job was intentionally stopped.");
  JobPlan p = r.plan();
  CHECK(r.ds() == JobDeploymentStatus::kComplete);
  CHECK_FALSE(r.st().succeeded.has_value());  // stopped is complete, not succeeded
  CHECK(has_event(p, "JobStopped"));
  p = r.plan();
  CHECK(all<DeleteCluster>(p).empty());
  CHECK_FALSE(p.requeue_after);  // no TTL: stays
}

TEST_CASE("job plan: a job the head already knows is followed, never submitted again (crash after the submit)") {
  Run r(ephemeral_job());
  r.plan();
  r.clusters = {cluster(*r.st().cluster_name, true)};
  r.head = found(RayJobStatus::kRunning);
  JobPlan p = r.plan();
  CHECK(all<Submit>(p).empty());
  CHECK(r.ds() == JobDeploymentStatus::kRunning);
  CHECK(has_event(p, "Running"));
}

TEST_CASE("job plan: a job the head forgot after showing it fails the attempt and is not resubmitted") {
  Run r = submitted_run();
  r.head = not_found();
  JobPlan p = r.plan();
  CHECK(all<Submit>(p).empty());
  CHECK(r.ds() == JobDeploymentStatus::kFailed);
  CHECK(condition(r.st(), "Failed") == "True/JobLost");
  CHECK(r.st().message->find("no longer knows job") != std::string::npos);
}

TEST_CASE("job plan: a failed job retries with a new submission and a new cluster, then fails with the log tail") {
  Run r = submitted_run();
  r.job.spec.backoff_limit = 1;
  const std::string first_id = *r.st().job_id, first_cluster = *r.st().cluster_name;
  r.head = found(RayJobStatus::kFailed, "Job entrypoint command failed with exit code 1.");
  r.head.logs = "step 1\nstep 2\nTraceback: boom\n";
  JobPlan p = r.plan();
  CHECK(r.ds() == JobDeploymentStatus::kRetrying);
  CHECK(*r.st().failed == 1);
  CHECK(has_event(p, "Retrying"));
  CHECK(condition(r.st(), "Failed") == "False/Retrying");

  // Retrying: the failed attempt's cluster goes first; the next attempt waits for that.
  p = r.plan();
  REQUIRE(all<DeleteCluster>(p).size() == 1);
  CHECK(all<DeleteCluster>(p)[0]->name == first_cluster);
  CHECK(*r.st().job_id == first_id);
  r.clusters[0].deleting = true;
  p = r.plan();
  CHECK(p.status_first);
  CHECK(*r.st().job_id == submission_id(r.job, 2));
  CHECK(*r.st().job_id != first_id);
  CHECK(*r.st().cluster_name == cluster_name(r.job, 2));
  CHECK(*r.st().cluster_name != first_cluster);
  CHECK_FALSE(r.st().job_status.has_value());

  r.clusters = {cluster(*r.st().cluster_name, true)};
  r.head = not_found();
  p = r.plan();
  REQUIRE(all<Submit>(p).size() == 1);
  CHECK(all<Submit>(p)[0]->submission.submission_id == submission_id(r.job, 2));
  r.head = found(RayJobStatus::kFailed, "Job failed.");
  r.head.logs = "loading data\nValueError: bad input\n";
  p = r.plan();
  CHECK(r.ds() == JobDeploymentStatus::kFailed);
  CHECK(*r.st().failed == 2);
  CHECK(condition(r.st(), "Failed") == "True/AppFailed");
  CHECK(r.st().message->find("ValueError: bad input") != std::string::npos);
  CHECK(has_event(p, "JobFailed"));
  // Failed is final: the cluster goes, nothing is submitted again.
  p = r.plan();
  CHECK(all<DeleteCluster>(p).size() == 1);
  CHECK(all<Submit>(p).empty());
  CHECK(condition(r.st(), "Failed") == "True/AppFailed");  // the reason survives later reconciles
}

TEST_CASE("job plan: activeDeadlineSeconds stops a running job and fails it without retry") {
  Run r = submitted_run();
  r.job.spec.active_deadline_seconds = 60;
  r.job.spec.backoff_limit = 3;
  r.now += 59s;
  JobPlan p = r.plan();
  CHECK(r.ds() == JobDeploymentStatus::kRunning);
  r.now += 2s;
  p = r.plan();
  auto stops = all<StopJob>(p);
  REQUIRE(stops.size() == 1);
  CHECK(stops[0]->id == *r.st().job_id);
  CHECK(r.ds() == JobDeploymentStatus::kFailed);
  CHECK(condition(r.st(), "Failed") == "True/DeadlineExceeded");
  CHECK(has_event(p, "DeadlineExceeded"));
}

TEST_CASE("job plan: a selector must match exactly one cluster, which is never deleted") {
  Run r(selector_job());
  r.plan();
  CHECK_FALSE(r.st().cluster_name.has_value());
  JobPlan p = r.plan();
  CHECK(has_event(p, "ClusterNotFound"));
  CHECK(r.st().message->find("team=ml") != std::string::npos);
  CHECK(all<CreateCluster>(p).empty());
  p = r.plan();
  CHECK_FALSE(has_event(p, "ClusterNotFound"));  // said once while the message stays the same

  r.clusters = {cluster("a", true, false), cluster("b", true, false)};
  p = r.plan();
  CHECK(has_event(p, "ClusterAmbiguous"));
  CHECK(r.st().message->find("(a, b)") != std::string::npos);
  CHECK(all<Submit>(p).empty());

  r.clusters = {cluster("a", true, false)};
  r.head = not_found();
  p = r.plan();
  CHECK(*r.st().cluster_name == "a");
  REQUIRE(all<Submit>(p).size() == 1);
  r.head = found(RayJobStatus::kSucceeded);
  r.plan();
  CHECK(r.ds() == JobDeploymentStatus::kComplete);
  p = r.plan();
  CHECK(all<DeleteCluster>(p).empty());
}

TEST_CASE("job plan: a public dashboard gets a Warning at submission, headAccess None is refused") {
  Run r(selector_job());
  r.plan();
  r.clusters = {cluster("a", true, false)};
  r.clusters[0].head_access = api::HeadAccess::kNone;
  JobPlan p = r.plan();
  CHECK(all<Submit>(p).empty());
  CHECK(has_event(p, "HeadNotReachable"));
  CHECK(head_to_read(r.job, r.clusters) == std::nullopt);

  r.clusters[0].head_access = api::HeadAccess::kPublic;
  r.head = not_found();
  p = r.plan();
  CHECK(all<Submit>(p).size() == 1);
  CHECK(has_event(p, "DashboardUnauthenticated"));
}

TEST_CASE("job plan: a cluster by the attempt's name that is not ours is never used") {
  Run r(ephemeral_job());
  r.plan();
  r.clusters = {cluster(*r.st().cluster_name, true, false)};
  JobPlan p = r.plan();
  CHECK(has_event(p, "ClusterNameTaken"));
  CHECK(all<CreateCluster>(p).empty());
  CHECK(head_to_read(r.job, r.clusters) == std::nullopt);
}

TEST_CASE("job plan: deleting stops a live job, deletes the ephemeral cluster and drops the finalizer") {
  Run r = submitted_run();
  r.job.metadata.deletion_timestamp = "2026-12-07T10:05:00Z";
  JobPlan p = r.plan();
  CHECK_FALSE(p.status);
  REQUIRE(all<StopJob>(p).size() == 1);
  CHECK(all<StopJob>(p)[0]->best_effort);
  REQUIRE(all<DeleteCluster>(p).size() == 1);
  REQUIRE(std::holds_alternative<RemoveFinalizer>(p.actions.back()));

  // A selector job's cluster is not ours to delete.
  Run s(selector_job());
  s.plan();
  s.clusters = {cluster("a", true, false)};
  s.job.metadata.deletion_timestamp = "2026-12-07T10:05:00Z";
  p = s.plan();
  CHECK(all<DeleteCluster>(p).empty());
  CHECK(std::holds_alternative<RemoveFinalizer>(p.actions.back()));
}

TEST_CASE("job plan: suspend stops the job and deletes the cluster, resume is a new attempt") {
  Run r = submitted_run();
  r.job.spec.suspend = true;
  JobPlan p = r.plan();
  CHECK(r.ds() == JobDeploymentStatus::kSuspended);
  CHECK(all<StopJob>(p).size() == 1);
  CHECK(all<DeleteCluster>(p).size() == 1);
  CHECK(has_event(p, "Suspended"));
  CHECK(condition(r.st(), "Reconciling") == "False/Done");
  r.job.spec.suspend = false;
  r.clusters.clear();
  p = r.plan();
  CHECK(p.status_first);
  CHECK(attempt_of(*r.st().job_id) == 2);
  CHECK_FALSE(r.st().failed.has_value());  // a suspension is not a failure
}

TEST_CASE("job plan: an invalid spec is reported and stalls, a fixed one goes on") {
  Run r(ephemeral_job());
  JobObserved o;
  o.job = r.job;
  o.spec_errors = {{"spec", "exactly one of clusterSpec and clusterSelector is required"}};
  o.now = kT0;
  JobPlan p = plan_job(o);
  REQUIRE(p.status);
  CHECK(p.status->job_deployment_status == JobDeploymentStatus::kValidationFailed);
  CHECK(p.status->message == std::optional<std::string>("spec: exactly one of clusterSpec and clusterSelector is required"));
  CHECK(condition(*p.status, "Stalled") == "True/InvalidSpec");
  REQUIRE(all<Event>(p).size() == 1);
  CHECK(all<Event>(p)[0]->type == "Warning");
  CHECK_FALSE(p.requeue_after);
  r.job.status = p.status;
  p = r.plan();  // fixed: a first attempt
  CHECK(p.status_first);
  CHECK(r.ds() == JobDeploymentStatus::kInitializing);
}

TEST_CASE("job plan: a submit the head refused fails the attempt, one that got no answer is read again first") {
  Run r(ephemeral_job());
  r.plan();
  r.clusters = {cluster(*r.st().cluster_name, true)};
  JobObserved o;
  o.job = r.job;
  o.clusters = r.clusters;
  o.head = not_found();
  o.now = kT0;
  auto refused = after_submit_failed(o, JobsError{JobsError::Kind::kRejected, "HTTP 400: bad runtime_env"});
  CHECK(refused.job_deployment_status == JobDeploymentStatus::kFailed);
  CHECK(condition(refused, "Failed") == "True/SubmissionFailed");
  auto lost = after_submit_failed(o, JobsError{JobsError::Kind::kUnreachable, "timeout"});
  CHECK(lost.job_deployment_status == JobDeploymentStatus::kInitializing);
  CHECK(lost.message->find("timeout") != std::string::npos);
}

TEST_CASE("job plan: the submission carries the spec's runtime env, metadata and entrypoint resources as numbers") {
  api::RayDogJob job = ephemeral_job();
  job.spec.runtime_env_yaml = "pip:\n  - requests==2.31\nenv_vars:\n  A: \"1\"\n";
  job.spec.metadata = std::map<std::string, std::string>{{"owner", "ml"}};
  job.spec.entrypoint_num_cpus = "500m";
  job.spec.entrypoint_resources = std::map<std::string, std::string>{{"accel", "2"}};
  const Submission s = submission_for(job, "train-x-1");
  const json body = submission_body(s);
  CHECK(body["submission_id"] == "train-x-1");
  CHECK(body["runtime_env"]["pip"][0] == "requests==2.31");
  CHECK(body["runtime_env"]["env_vars"]["A"] == "1");
  CHECK(body["metadata"]["owner"] == "ml");
  CHECK(body["entrypoint_num_cpus"].get<double>() == doctest::Approx(0.5));
  CHECK(body["entrypoint_resources"]["accel"].get<double>() == doctest::Approx(2.0));
  CHECK_FALSE(body.contains("entrypoint_num_gpus"));  // never a field the head may not know, not even null
}

TEST_CASE("job plan: wire rules: job info, duplicate phrase, log tail, cluster view") {
  auto info = parse_job_info(R"({"status":"FAILED","submission_id":"x","message":"m","end_time":1767225660000,"driver_exit_code":1})");
  REQUIRE(info);
  CHECK(info->status == RayJobStatus::kFailed);
  CHECK(*info->end_time_ms == 1767225660000);
  CHECK_FALSE(parse_job_info(R"({"status":"WEIRD"})"));
  CHECK_FALSE(parse_job_info("Job x does not exist"));
  CHECK(is_duplicate_submission(
      "Traceback ...\nValueError: Job with submission_id x already exists. Please use a different submission_id."));
  CHECK_FALSE(is_duplicate_submission("No available agent to submit job, please try again later."));
  std::string log;
  for (int i = 1; i <= 30; ++i) log += "line " + std::to_string(i) + "\n";
  const std::string tail = log_tail(log, 3);
  CHECK(tail == "line 28\nline 29\nline 30");
  CHECK(log_tail(std::string(10000, 'x'), 20, 100).size() == 100);
  CHECK(attempt_of("train-0b8c5f6e-12") == 12);
  CHECK(attempt_of("") == 0);

  const json c = {{"metadata",
                   {{"name", "train-abcde"},
                    {"uid", "u1"},
                    {"ownerReferences", json::array({{{"kind", "RayDogJob"}, {"uid", "job-uid"}}})}}},
                  {"spec", {{"headAccess", "Public"}}},
                  {"status",
                   {{"endpoints", {{"dashboard", "http://127.0.0.1:8265"}}},
                    {"conditions", json::array({{{"type", "Ready"}, {"status", "False"}, {"reason", "Provisioning"}, {"message", "head"}}})}}}};
  const ClusterView v = cluster_view(c, "job-uid");
  CHECK(v.owned);
  CHECK_FALSE(cluster_view(c, "other").owned);
  CHECK_FALSE(v.ready);
  CHECK(v.not_ready == "Provisioning: head");
  CHECK(v.head_access == api::HeadAccess::kPublic);
  CHECK(*v.dashboard_url == "http://127.0.0.1:8265");
}
