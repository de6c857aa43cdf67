// End to end: the real kubectl against kube-emulator, the operator process, and yellowdog-sim.
#include <doctest/doctest.h>

#include <functional>
#include <optional>
#include <thread>

#include "test/e2e/operator/harness.hpp"
#include "test/support/connect_proxy.hpp"

using namespace raydog::test;
using namespace raydog::test::op;
using namespace std::chrono_literals;

namespace {

std::string phase(Env& env, const std::string& ns, const std::string& name) {
  auto c = env.get_cluster(ns, name);
  return c ? c->value("status", json::object()).value("phase", "") : "";
}

// The YellowDog name prefix of a cluster: "rdc-<ns>-<name>".
std::string prefix(const std::string& ns, const std::string& name) {
  return "rdc-" + ns + "-" + name;
}

SimView sim_view(Env& env, const std::string& ns, const std::string& name) {
  return view_of(env.sim_get("objects"), prefix(ns, name));
}

void wait_ready(Env& env, const std::string& ns, const std::string& name) {
  auto r = env.kubectl({"wait", "--for=condition=Ready", "rdc/" + name, "-n", ns, "--timeout=120s"});
  INFO(env.operator_log());
  const std::string output = r.err + r.out;
  REQUIRE_MESSAGE(r.exit_code == 0, output);
}

// The cluster's Synced condition once `wanted` accepts it (nullopt after 60 s).
std::optional<json> wait_synced(Env& env, const std::string& ns, const std::string& name,
                                const std::function<bool(const json&)>& wanted) {
  std::optional<json> synced;
  const bool seen = env.eventually(
      [&] {
        auto c = env.get_cluster(ns, name);
        synced = c ? condition_of(*c, "Synced") : std::nullopt;
        return synced && wanted(*synced);
      },
      60s);
  return seen ? synced : std::nullopt;
}

// After delete: the resource is gone, no WR is live and every pool is shut down.
void delete_and_check_clean(Env& env, const std::string& ns, const std::string& name) {
  auto del = env.kubectl({"delete", "rdc", name, "-n", ns, "--wait=false"});
  REQUIRE_MESSAGE(del.exit_code == 0, del.err);
  INFO(env.operator_log());
  REQUIRE(env.eventually([&] { return env.cluster_gone(ns, name); }, 90s));
  auto v = sim_view(env, ns, name);
  CHECK(v.live_work_requirements() == 0);
  CHECK(v.live_pools() == 0);
  CHECK(v.tasks_in("EXECUTING") == 0);
}

// A simulator serving HTTPS with a self-signed certificate for 127.0.0.1 (its own CA), written to `cert`.
SimOptions private_ca_sim(const TempDir& certs, const std::string& cert) {
  const std::string key = certs.file("yellowdog.key");
  auto made =
      run_command({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                   "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"},
                  {}, 60s);
  REQUIRE_MESSAGE(made.exit_code == 0, made.err);
  SimOptions so = sim_flags({"--tls-cert", cert, "--tls-key", key});
  so.ca_file = cert;
  return so;
}

}  // namespace

TEST_CASE("operator e2e: heterogeneous sample Ready, resize, remove pool, suspend/resume, delete") {
  Env env;
  env.apply_prerequisites("team-a");
  env.start_operator();
  env.apply(env.sample("research", "team-a"));
  wait_ready(env, "team-a", "research");

  // kubectl get shows phase, head IP and workers.
  auto get = env.kubectl({"get", "rdc", "-n", "team-a"});
  REQUIRE(get.exit_code == 0);
  CHECK(get.out.find("research") != std::string::npos);
  CHECK(get.out.find("Running") != std::string::npos);
  auto cluster = env.get_cluster("team-a", "research");
  REQUIRE(cluster);
  const auto& status = (*cluster)["status"];
  CHECK(status.value("head", json::object()).value("privateIP", "") != "");
  CHECK(status.value("endpoints", json::object()).value("client", "").rfind("ray://", 0) == 0);
  CHECK(status.value("readyWorkers", -1) == 10);

  // Exactly one WR, one pool per node kind, one EXECUTING task per node.
  auto v = sim_view(env, "team-a", "research");
  CHECK(v.work_requirements.size() == 1);
  CHECK(v.live_pools() == 4);
  CHECK(v.pools.size() == 4);
  CHECK(v.tasks_in("EXECUTING") == 12);

  // Resize cpu 8 -> 3 and remove gpu: surplus tasks cancelled, the gpu pool shut down.
  auto patch = env.kubectl({"patch", "rdc", "research", "-n", "team-a", "--type=json", "-p",
                            R"([{"op":"replace","path":"/spec/workerPools/0/nodes","value":3},)"
                            R"({"op":"remove","path":"/spec/workerPools/1"}])"});
  REQUIRE_MESSAGE(patch.exit_code == 0, patch.err);
  CHECK(env.eventually(
      [&] {
        auto v = sim_view(env, "team-a", "research");
        return v.tasks_in("EXECUTING") == 5 && v.live_pools() == 3;
      },
      60s));
  wait_ready(env, "team-a", "research");

  // Add a pool back.
  patch = env.kubectl({"patch", "rdc", "research", "-n", "team-a", "--type=json", "-p",
                       R"([{"op":"add","path":"/spec/workerPools/-","value":)"
                       R"({"name":"extra","nodes":2,"computeRequirementTemplate":"ray/ray-worker-cpu"}}])"});
  REQUIRE_MESSAGE(patch.exit_code == 0, patch.err);
  CHECK(env.eventually([&] { return sim_view(env, "team-a", "research").tasks_in("EXECUTING") == 7; }, 60s));

  // Suspend: WR cancelled, pools shut down, phase Suspended. Resume: a fresh incarnation, Ready again.
  patch = env.kubectl(
      {"patch", "rdc", "research", "-n", "team-a", "--type=merge", "-p", R"({"spec":{"suspend":true}})"});
  REQUIRE(patch.exit_code == 0);
  CHECK(env.eventually([&] { return phase(env, "team-a", "research") == "Suspended"; }, 60s));
  CHECK(env.eventually(
      [&] {
        auto v = sim_view(env, "team-a", "research");
        return v.live_work_requirements() == 0 && v.live_pools() == 0;
      },
      60s));
  patch = env.kubectl(
      {"patch", "rdc", "research", "-n", "team-a", "--type=merge", "-p", R"({"spec":{"suspend":false}})"});
  REQUIRE(patch.exit_code == 0);
  wait_ready(env, "team-a", "research");
  v = sim_view(env, "team-a", "research");
  CHECK(v.live_work_requirements() == 1);
  CHECK(v.tasks_in("EXECUTING") == 7);

  delete_and_check_clean(env, "team-a", "research");
}

TEST_CASE("operator e2e: invalid spec is reported with the field, no YellowDog call") {
  Env env;
  env.apply_prerequisites("bad");
  env.start_operator();
  // Valid for the CRD schema, invalid for the operator's validation? Use a nodes value the schema accepts
  // only if it has no minimum; otherwise fall back to a missing namespace (required by validation).
  auto y = env.sample("broken", "bad");
  auto pos = y.find("    namespace: ray-team-a\n");
  REQUIRE(pos != std::string::npos);
  y.erase(pos, std::string("    namespace: ray-team-a\n").size());
  auto r = env.kubectl({"apply", "-f", "-"}, y);
  if (r.exit_code != 0) {
    // The CRD schema already refuses it: that is the field named, and the operator never saw it.
    CHECK(r.err.find("namespace") != std::string::npos);
  } else {
    INFO(env.operator_log());
    REQUIRE(env.eventually(
        [&] {
          auto c = env.get_cluster("bad", "broken");
          auto s = c ? condition_of(*c, "Synced") : std::nullopt;
          return s && s->value("status", "") == "False" && s->value("reason", "") == "InvalidSpec";
        },
        30s));
    auto c = env.get_cluster("bad", "broken");
    CHECK(condition_of(*c, "Synced")->value("message", "").find("spec.yellowdog.namespace") !=
          std::string::npos);
  }
  CHECK(env.sim_get("stats").value("totalCalls", -1) == 0);
}

TEST_CASE(
    "operator e2e: a spec the CRD schema accepts but validation refuses: InvalidSpec, no YellowDog call") {
  // Cross-field rules are CEL in the CRD (x-kubernetes-validations), which an older CRD or an API server
  // without CEL (kube-emulator) does not enforce: the operator's own validation must catch them. The first
  // candidate the API server accepts is used.
  Env env;
  env.apply_prerequisites("cel");
  env.start_operator();
  struct Candidate {
    std::string from, to, path;
  };
  const Candidate candidates[] = {
      // userData and userDataFrom are mutually exclusive.
      {"    userDataFrom:\n      configMapKeyRef:\n        name: ray-node-setup\n        key: userdata.sh\n"
       "    instanceTags:\n      team: team-a\n",
       "    userData: \"echo inline\"\n    userDataFrom:\n      configMapKeyRef:\n        name: "
       "ray-node-setup\n"
       "        key: userdata.sh\n    instanceTags:\n      team: team-a\n",
       "spec.head.userDataFrom"},
      // keyIdKey equal to keySecretKey.
      {"      keyIdKey: keyId\n", "      keyIdKey: keySecret\n",
       "spec.yellowdog.credentialsSecretRef.keySecretKey"},
  };
  std::string path;
  for (const auto& c : candidates) {
    auto y = env.sample("crossfield", "cel");
    auto pos = y.find(c.from);
    REQUIRE_MESSAGE(pos != std::string::npos, c.from);
    y.replace(pos, c.from.size(), c.to);
    auto r = env.kubectl({"apply", "-f", "-"}, y);
    if (r.exit_code == 0) {
      path = c.path;
      break;
    }
  }
  REQUIRE_MESSAGE(!path.empty(), "the API server refused every candidate: no cross-field rule left to test");
  INFO(env.operator_log());
  REQUIRE(env.eventually(
      [&] {
        auto c = env.get_cluster("cel", "crossfield");
        auto s = c ? condition_of(*c, "Synced") : std::nullopt;
        return s && s->value("status", "") == "False" && s->value("reason", "") == "InvalidSpec";
      },
      30s));
  auto c = env.get_cluster("cel", "crossfield");
  REQUIRE(c);
  CHECK(condition_of(*c, "Synced")->value("message", "").find(path) != std::string::npos);
  auto stalled = condition_of(*c, "Stalled");
  REQUIRE(stalled);
  CHECK(stalled->value("status", "") == "True");
  CHECK(stalled->value("reason", "") == "InvalidSpec");
  CHECK(env.eventually(
      [&] {
        auto ev = env.events("cel", "crossfield", "InvalidSpec");
        return !ev.empty() && ev[0].value("type", "") == "Warning" &&
               ev[0].value("message", "").find(path) != std::string::npos;
      },
      30s));
  CHECK(env.sim_get("stats").value("totalCalls", -1) == 0);
  // The finalizer is never added for a spec that made no YellowDog call: delete is immediate.
  auto del = env.kubectl({"delete", "rdc", "crossfield", "-n", "cel", "--wait=false"});
  CHECK(del.exit_code == 0);
  CHECK(env.eventually([&] { return env.cluster_gone("cel", "crossfield"); }, 30s));
  CHECK(env.sim_get("stats").value("totalCalls", -1) == 0);
}

TEST_CASE("operator e2e: an edit that makes a running spec invalid is refused at once, and fixing it resumes") {
  // The reconciler validates a spec once per generation (reconciler.hpp, validated_): every edit must be
  // seen, however the previous generation fared.
  Env env;
  env.apply_prerequisites("gen");
  env.start_operator();
  const std::string valid = env.sample("edited", "gen");
  env.apply(valid);
  INFO(env.operator_log());
  auto synced_reason = [&] {
    auto c = env.get_cluster("gen", "edited");
    auto s = c ? condition_of(*c, "Synced") : std::nullopt;
    return s ? s->value("status", "") + "/" + s->value("reason", "") : std::string();
  };
  REQUIRE(env.eventually([&] { return synced_reason().rfind("True/", 0) == 0; }, 30s));
  // keyIdKey equal to keySecretKey: a cross-field rule the emulator's API server does not enforce.
  std::string invalid = valid;
  const std::string from = "      keyIdKey: keyId\n";
  const auto pos = invalid.find(from);
  REQUIRE(pos != std::string::npos);
  invalid.replace(pos, from.size(), "      keyIdKey: keySecret\n");
  env.apply(invalid);
  REQUIRE(env.eventually([&] { return synced_reason() == "False/InvalidSpec"; }, 30s));
  env.apply(valid);
  CHECK(env.eventually([&] { return synced_reason().rfind("True/", 0) == 0; }, 30s));
  auto del = env.kubectl({"delete", "rdc", "edited", "-n", "gen", "--wait=false"});
  CHECK(del.exit_code == 0);
  CHECK(env.eventually([&] { return env.cluster_gone("gen", "edited"); }, 60s));
}

TEST_CASE("operator e2e: missing credentials Secret is named in Synced") {
  Env env;
  env.apply("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: nocreds\n");
  env.start_operator();
  auto y = env.sample("c1", "nocreds");
  env.apply(y);
  INFO(env.operator_log());
  REQUIRE(env.eventually(
      [&] {
        auto c = env.get_cluster("nocreds", "c1");
        auto s = c ? condition_of(*c, "Synced") : std::nullopt;
        return s && s->value("status", "") == "False" &&
               s->value("message", "").find("yellowdog-credentials") != std::string::npos;
      },
      30s));
  CHECK(env.sim_get("stats").value("totalCalls", -1) == 0);
}

TEST_CASE(
    "operator e2e: with the default --yellowdog-allowed-urls a loopback apiURL gets ApiURLNotAllowed, no "
    "Secret read and no YellowDog request, and once allowed the same cluster converges") {
  Env env;
  env.allow_loopback_yellowdog = false;  // the operator's own default: https://api.yellowdog.ai only
  env.apply_prerequisites("allow");
  // From here every Secret request is the operator's (the harness's apply above wrote the Secret).
  env.emulator_reset_counters();
  env.start_operator();
  env.apply(env.sample("c1", "allow"));
  INFO(env.operator_log());
  std::optional<json> synced = wait_synced(
      env, "allow", "c1", [](const json& s) { return s.value("reason", "") == "ApiURLNotAllowed"; });
  REQUIRE(synced);
  const std::string message = synced->value("message", "");
  CHECK(synced->value("status", "") == "False");
  CHECK(message.find("\"" + env.sim_url() + "\"") != std::string::npos);
  CHECK(message.find("--yellowdog-allowed-urls") != std::string::npos);
  auto c = env.get_cluster("allow", "c1");
  REQUIRE(c);
  auto stalled = condition_of(*c, "Stalled");
  REQUIRE(stalled);
  CHECK(stalled->value("status", "") == "True");
  CHECK(stalled->value("reason", "") == "ApiURLNotAllowed");
  CHECK(c->value("metadata", json::object()).value("finalizers", json::array()).empty());  // nothing to clean
  REQUIRE(env.eventually([&] { return !env.events("allow", "c1", "ApiURLNotAllowed").empty(); }, 30s));
  CHECK(env.events("allow", "c1", "ApiURLNotAllowed").front().value("type", "") == "Warning");
  // Nothing reached the simulator, and the operator never asked for the Secret.
  CHECK(env.sim_get("stats").value("totalCalls", -1) == 0);
  const json requests = env.emulator_stats().value("requests", json::object());
  CHECK_FALSE(requests.empty());  // the counters work: the operator's watches and status writes are there
  for (const auto& [key, count] : requests.items()) {
    CAPTURE(key);
    CHECK(key.find("secrets") == std::string::npos);
  }
  const std::string log = env.operator_log_full();
  CHECK(log.find("test-key-secret") == std::string::npos);

  // The admin lists the simulator's origin: the same cluster converges, and deletes cleanly.
  env.allow_loopback_yellowdog = true;
  env.start_operator();
  wait_ready(env, "allow", "c1");
  delete_and_check_clean(env, "allow", "c1");
}

TEST_CASE("operator e2e: a YellowDog endpoint with a private CA is trusted only with --yellowdog-ca-file") {
  TempDir certs;
  const std::string cert = certs.file("yellowdog.pem");
  Env env(private_ca_sim(certs, cert));
  REQUIRE(env.sim_url().rfind("https://127.0.0.1:", 0) == 0);
  env.apply_prerequisites("pca");
  // Without the CA: verification stays on, the handshake fails, and no request reaches the simulator.
  env.start_operator({"--yellowdog-allowed-urls", "https://127.0.0.1:*"});
  env.apply(env.sample("c1", "pca"));
  INFO(env.operator_log());
  std::optional<json> synced = wait_synced(env, "pca", "c1", [](const json& s) {
    return s.value("status", "") == "False" &&
           s.value("message", "").find("certificate") != std::string::npos;
  });
  REQUIRE(synced);
  MESSAGE("Synced without the CA: " << synced->value("reason", "") << ": " << synced->value("message", ""));
  CHECK(env.sim_get("stats").value("totalCalls", -1) == 0);
  // With the CA file the same endpoint is trusted (besides the system store): the cluster converges.
  env.start_operator({"--yellowdog-allowed-urls", "https://127.0.0.1:*", "--yellowdog-ca-file", cert});
  wait_ready(env, "pca", "c1");
  delete_and_check_clean(env, "pca", "c1");
}

TEST_CASE("operator e2e: behind an egress proxy every YellowDog and Kubernetes request tunnels through it") {
  // The simulator serves HTTPS with a private CA, so the tunnel carries end-to-end TLS the proxy cannot read.
  TempDir certs;
  const std::string cert = certs.file("yellowdog.pem");
  Env env(private_ca_sim(certs, cert));
  ConnectProxy proxy;
  const std::string sim_target = env.sim_url().substr(std::string("https://").size());
  const std::string kube_server = [&] {
    const std::string text = read_file(env.kubeconfig());
    const auto at = text.find("server: ") + 8;
    return text.substr(at, text.find('\n', at) - at);
  }();
  const std::string kube_target = kube_server.substr(kube_server.find("://") + 3);
  // The Kubernetes client follows its kubeconfig's proxy-url (which, as in client-go, wins over NO_PROXY);
  // YellowDog follows HTTPS_PROXY.
  std::string kubeconfig = read_file(env.kubeconfig());
  kubeconfig.insert(kubeconfig.find('\n', kubeconfig.find("server: ")) + 1, "    proxy-url: " + proxy.url() + "\n");
  write_file(env.dir.file("kubeconfig-proxied"), kubeconfig);
  env.operator_kubeconfig = env.dir.file("kubeconfig-proxied");
  env.operator_env = {{"HTTPS_PROXY", proxy.url()}, {"NO_PROXY", "localhost," + kube_target}};
  env.apply_prerequisites("egress");
  env.start_operator({"--yellowdog-allowed-urls", "https://127.0.0.1:*", "--yellowdog-ca-file", cert});
  env.apply(env.sample("c1", "egress"));
  wait_ready(env, "egress", "c1");
  CHECK(proxy.connects_to(sim_target) >= 1);
  CHECK(proxy.connects_to(kube_target) >= 1);
  for (const auto& target : proxy.connects()) {  // nothing else was asked for
    CAPTURE(target);
    CHECK((target == sim_target || target == kube_target));
  }
  CHECK(env.operator_log_full().find("https targets via " + proxy.url()) != std::string::npos);

  // The proxy starts refusing: YellowDog is out of reach, the condition says why, the simulator sees
  // nothing, and the operator backs off instead of storming. (The operator restarts with a direct
  // Kubernetes connection first, so that only YellowDog depends on the proxy.)
  env.operator_kubeconfig.clear();
  env.operator_env["NO_PROXY"] = kube_target;
  env.start_operator({"--yellowdog-allowed-urls", "https://127.0.0.1:*", "--yellowdog-ca-file", cert});
  proxy.set_refuse_status(403);
  const auto calls_before = env.sim_get("stats").value("totalCalls", -1);
  auto scaled = env.kubectl({"patch", "rdc", "c1", "-n", "egress", "--type=json", "-p",
                             R"([{"op":"replace","path":"/spec/workerPools/0/nodes","value":2}])"});
  REQUIRE_MESSAGE(scaled.exit_code == 0, scaled.err);
  std::optional<json> synced = wait_synced(env, "egress", "c1", [](const json& s) {
    return s.value("status", "") == "False" && s.value("message", "").find("refused: 403") != std::string::npos;
  });
  INFO(env.operator_log());
  REQUIRE(synced);
  MESSAGE("Synced while the proxy refuses: " << synced->value("reason", "") << ": " << synced->value("message", ""));
  CHECK(synced->value("message", "").find(proxy.url()) != std::string::npos);
  // No retry storm: the work queue's per-key backoff doubles, so each window of 3 s sees fewer attempts
  // than the one before (each attempt is one reconcile's 4 tries, with the harness's 20 ms retry base).
  const auto first_mark = proxy.connects_to(sim_target);
  std::this_thread::sleep_for(3s);
  const auto second_mark = proxy.connects_to(sim_target);
  std::this_thread::sleep_for(3s);
  const auto first_window = second_mark - first_mark, second_window = proxy.connects_to(sim_target) - second_mark;
  MESSAGE("refused CONNECTs to YellowDog: " << first_window << " in one 3 s window, " << second_window
                                            << " in the next");
  CHECK(second_window < first_window);
  CHECK(env.sim_get("stats").value("totalCalls", -1) == calls_before);

  proxy.set_refuse_status(0);
  delete_and_check_clean(env, "egress", "c1");
}

TEST_CASE("operator e2e: a malformed proxy environment stops the operator at start, naming the variable") {
  Env env;
  env.operator_env = {{"HTTPS_PROXY", "http://proxy.invalid:3128"}, {"NO_PROXY", "10.0.0.0/33"}};
  env.start_operator();
  REQUIRE(env.eventually([&] { return !env.operator_running(); }, 20s));
  const std::string log = env.operator_log_full();
  INFO(log);
  CHECK(log.find("NO_PROXY: entry \"10.0.0.0/33\": the prefix length must be 0-32") != std::string::npos);
  env.operator_env = {{"HTTPS_PROXY", "https://user:pa55word@proxy.invalid:3128"}};
  env.start_operator();
  REQUIRE(env.eventually([&] { return !env.operator_running(); }, 20s));
  CHECK(env.operator_log_full().find("https:// proxies (TLS to the proxy) are not supported") != std::string::npos);
  CHECK(env.operator_log_full().find("pa55word") == std::string::npos);
}
