#include "controller/options.hpp"

#include <cmath>
#include <map>
#include <optional>
#include <stdexcept>

#include "api/duration.hpp"
#include "api/names.hpp"
#include "controller/http/client.hpp"
#include "controller/kube/label_selector.hpp"
#include "controller/runtime/log.hpp"
#include "controller/util/files.hpp"

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
  crd [RESOURCE]      print a CustomResourceDefinition (YAML) on stdout: raydogclusters (the
                      default, RayDogCluster) or raydogjobs (RayDogJob)
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
    o.command = Command::kRun;
    return o;
  }
  const std::string& first = args[0];
  auto no_more = [&](const char* command) -> Result<Options, UsageError> {
    if (args.size() > 1)
      return unexpected(UsageError{std::string(command) + ": unexpected argument " + args[1]});
    return o;
  };
  if (first == "-h" || first == "--help" || first == "help") {
    o.command = Command::kHelp;
    return o;  // help wins over anything after it, as in most CLIs
  }
  if (first == "--version" || first == "version") {
    o.command = Command::kVersion;
    return no_more(first.c_str());
  }
  if (first == "crd") {
    o.command = Command::kCrd;
    for (size_t i = 1; i < args.size(); ++i) {
      if (args[i] == "-h" || args[i] == "--help") {
        o.command = Command::kHelp;
        return o;
      }
    }
    if (args.size() == 1 || args[1].starts_with("-")) return no_more("crd");
    if (args[1] != "raydogclusters" && args[1] != "raydogjobs")
      return unexpected(UsageError{"crd: unknown resource " + args[1] + " (raydogclusters or raydogjobs)"});
    o.crd = args[1];
    if (args.size() > 2) return unexpected(UsageError{"crd: unexpected argument " + args[2]});
    return o;
  }
  if (first == "validate") {
    o.command = Command::kValidate;
    for (size_t i = 1; i < args.size(); ++i) {
      const std::string& a = args[i];
      if (a == "-h" || a == "--help") {
        o.command = Command::kHelp;
        return o;
      }
      if (a.size() > 1 && a[0] == '-') return unexpected(UsageError{"validate: unknown flag " + a});
      o.files.push_back(a);
    }
    if (o.files.empty()) return unexpected(UsageError{"validate: at least one FILE is required"});
    return o;
  }
  if (first == "run") {
    o.command = Command::kRun;
    o.run_args.assign(args.begin() + 1, args.end());
    return o;
  }
  if (first.starts_with("-")) {  // the operator's flags; parse_controller_flags judges them
    o.command = Command::kRun;
    o.run_args = args;
    return o;
  }
  return unexpected(UsageError{"unknown command " + first});
}

// The flag table of `run`: parse_controller_flags() and controller_usage().
namespace {

bool parse_duration_flag(const std::string& v, std::chrono::milliseconds& out) {
  auto d = api::parse_go_duration(v);
  if (!d || d->count() < 0) return false;
  out = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
  return true;
}

enum class Kind { kString, kBool, kInt, kDuration, kLogFormat, kLogLevel, kAllowedUrls, kCaFile, kObserveMode,
                  kQps, kSelector };

struct Flag {
  Kind kind;
  std::string ControllerOptions::*text = nullptr;
  int ControllerOptions::*number = nullptr;
  std::chrono::milliseconds ControllerOptions::*duration = nullptr;
  int min = 0;  // kInt: the smallest accepted value
};

Flag text(std::string ControllerOptions::*m) {
  return {Kind::kString, m, nullptr, nullptr, 0};
}
Flag number(int ControllerOptions::*m, int min) {
  return {Kind::kInt, nullptr, m, nullptr, min};
}
Flag duration(std::chrono::milliseconds ControllerOptions::*m) {
  return {Kind::kDuration, nullptr, nullptr, m, 0};
}

// Every flag of `run`, by name. A name missing here is rejected before its value is looked at, so
// `--bogus` says "unknown flag", not "missing value".
const std::map<std::string, Flag>& flags() {
  using O = ControllerOptions;
  static const std::map<std::string, Flag> table = {
      {"--kubeconfig", text(&O::kubeconfig)},
      {"--context", text(&O::context)},
      {"--namespace", text(&O::watch_namespace)},
      {"--max-concurrent-reconciles", number(&O::max_concurrent_reconciles, 1)},
      {"--shard-selector", {Kind::kSelector, &O::shard_selector, nullptr, nullptr, 0}},
      {"--kube-api-qps", {Kind::kQps, nullptr, nullptr, nullptr, 0}},
      {"--kube-api-burst", number(&O::kube_api_burst, 1)},
      {"--leader-elect", {Kind::kBool, nullptr, nullptr, nullptr, 0}},
      {"--leader-election-namespace", text(&O::leader_election_namespace)},
      {"--leader-election-id", text(&O::leader_election_id)},
      {"--leader-election-lease-duration", duration(&O::lease_duration)},
      {"--leader-election-renew-deadline", duration(&O::renew_deadline)},
      {"--leader-election-retry-period", duration(&O::retry_period)},
      {"--health-probe-bind-address", text(&O::health_probe_bind_address)},
      {"--metrics-bind-address", text(&O::metrics_bind_address)},
      {"--log-format", {Kind::kLogFormat, &O::log_format, nullptr, nullptr, 0}},
      {"--log-level", {Kind::kLogLevel, &O::log_level, nullptr, nullptr, 0}},
      {"--requeue-converging", duration(&O::requeue_converging)},
      {"--requeue-steady", duration(&O::requeue_steady)},
      {"--cleanup-timeout", duration(&O::cleanup_timeout)},
      {"--resync-period", duration(&O::resync_period)},
      {"--credentials-cache-ttl", duration(&O::credentials_cache_ttl)},
      {"--shutdown-grace", duration(&O::shutdown_grace)},
      {"--yellowdog-retry-base", duration(&O::yellowdog_retry_base)},
      {"--yellowdog-max-retries", number(&O::yellowdog_max_retries, 0)},
      {"--yellowdog-request-timeout", duration(&O::yellowdog_request_timeout)},
      {"--yellowdog-allowed-urls", {Kind::kAllowedUrls, nullptr, nullptr, nullptr, 0}},
      {"--yellowdog-ca-file", {Kind::kCaFile, nullptr, nullptr, nullptr, 0}},
      {"--yellowdog-observe", {Kind::kObserveMode, &O::yellowdog_observe, nullptr, nullptr, 0}},
      {"--yellowdog-observe-interval", duration(&O::yellowdog_observe_interval)},
      {"--yellowdog-qps", number(&O::yellowdog_qps, 1)},
      {"--yellowdog-burst", number(&O::yellowdog_burst, 1)},
  };
  return table;
}

std::optional<std::string> parse_int(const std::string& flag, const std::string& value, int min, int& out) {
  int v = 0;
  try {
    std::size_t pos = 0;
    v = std::stoi(value, &pos);
    if (pos != value.size() || v < 0) throw std::invalid_argument(value);
  } catch (...) {
    return flag + ": not a non-negative integer: " + value;
  }
  if (v < min) return flag + ": must be >= " + std::to_string(min);
  out = v;
  return std::nullopt;
}

std::optional<std::string> parse_qps(const std::string& flag, const std::string& value, double& out) {
  double v = 0;
  try {
    std::size_t pos = 0;
    v = std::stod(value, &pos);
    if (pos != value.size() || !std::isfinite(v)) throw std::invalid_argument(value);
  } catch (...) {
    return flag + ": not a number: " + value;
  }
  if (v < 0) return flag + ": must be >= 0 (0 turns pacing off)";
  out = v;
  return std::nullopt;
}

// A shard's own Lease, so that shards do not elect one leader among them: a short stable name of the
// normalized selector (`a==b` and ` a = b ` name the same Lease).
std::string shard_lease_name(const std::string& normalized_selector) {
  return "raydog-operator-leader-" + api::names::hash8(normalized_selector);
}

}  // namespace

std::string controller_usage() {
  return R"(raydog-operator run [flags]
  --kubeconfig PATH                  kubeconfig file (default: KUBECONFIG, in-cluster, ~/.kube/config)
  --context NAME                     kubeconfig context
  --namespace NS                     watch only this namespace (default: all)
  --max-concurrent-reconciles N      parallel reconciles (default 4)
  --shard-selector SELECTOR          take only RayDogClusters with these labels, e.g. raydog.io/shard=a or
                                     '!raydog.io/shard' (default: every cluster); names its own Lease
  --kube-api-qps QPS                 Kubernetes requests per second, token bucket; 0 = unpaced (default 500)
  --kube-api-burst N                 ... and its burst (default 600)
  --leader-elect                     use a Lease so only one replica reconciles
  --leader-election-namespace NS     (default: the pod's / context's namespace)
  --leader-election-id NAME          Lease name (default raydog-operator-leader; with --shard-selector
                                     raydog-operator-leader-<hash of the selector>)
  --leader-election-lease-duration D (default 15s)
  --leader-election-renew-deadline D (default 10s)
  --leader-election-retry-period D   (default 2s)
  --health-probe-bind-address ADDR   /healthz, /readyz (default :8081; 0 disables)
  --metrics-bind-address ADDR        /metrics (default :8080; 0 disables)
  --log-format json|text             (default json)
  --log-level debug|info|warn|error  (default info)
  --requeue-converging D             YellowDog poll interval while converging (default 2s)
  --requeue-steady D                 poll interval when steady, stretched by 0-10% (default 60s)
  --cleanup-timeout D                give up YellowDog clean-up on delete after D (default 10m)
  --resync-period D                  full YellowDog re-read of a steady cluster at least every D (default 10h)
  --credentials-cache-ttl D          reuse keys read from the Secret for D; 0 = read every time (default 5m)
  --shutdown-grace D                 drain time on SIGTERM (default 30s)
  --yellowdog-retry-base D           first retry backoff of YellowDog reads (default 10s)
  --yellowdog-max-retries N          (default 3)
  --yellowdog-request-timeout D      (default 60s)
  --yellowdog-allowed-urls LIST      origins apiURL may name, comma-separated scheme://host[:port], port *
                                     = any; YellowDog keys go nowhere else (default https://api.yellowdog.ai)
  --yellowdog-ca-file PATH           PEM CA bundle trusted for YellowDog besides the system store
  --yellowdog-observe search|poll    how steady clusters notice YellowDog changes: paced account-wide
                                     searches that wake the changed clusters (default search), or one
                                     work requirement read per cluster and --requeue-steady (poll)
  --yellowdog-observe-interval D     pace of the searches per account (default 2s)
  --yellowdog-qps N                  request budget per YellowDog account, halved on 429 (default 1000)
  --yellowdog-burst N                (default 2000)
)";
}

Result<ControllerOptions, std::string> parse_controller_flags(const std::vector<std::string>& args) {
  ControllerOptions o;
  bool lease_named = false;  // --leader-election-id given: it wins over the shard's own Lease name
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::string value;
    bool has_value = false;
    if (auto eq = flag.find('='); eq != std::string::npos && flag.rfind("--", 0) == 0) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      has_value = true;
    }
    if (flag == "--help" || flag == "-h") return unexpected(controller_usage());
    const auto it = flags().find(flag);
    if (it == flags().end()) return unexpected("unknown flag " + flag + " (see --help)");
    const Flag& f = it->second;
    if (f.kind == Kind::kBool) {
      if (has_value && value != "true" && value != "1" && value != "false" && value != "0")
        return unexpected(flag + ": must be true or false");
      o.leader_elect = !has_value || value == "true" || value == "1";
      continue;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) return unexpected(flag + ": missing value");
      value = args[++i];
    }
    std::optional<std::string> err;
    if (flag == "--leader-election-id") lease_named = true;
    switch (f.kind) {
      case Kind::kString:
        o.*f.text = value;
        break;
      case Kind::kInt:
        err = parse_int(flag, value, f.min, o.*f.number);
        break;
      case Kind::kDuration:
        if (!parse_duration_flag(value, o.*f.duration)) err = flag + ": not a duration: " + value;
        break;
      case Kind::kLogFormat: {
        log::Format fmt;
        if (!log::parse_format(value, fmt)) err = flag + ": must be json or text";
        o.*f.text = value;
        break;
      }
      case Kind::kLogLevel: {
        log::Level lvl;
        if (!log::parse_level(value, lvl)) err = flag + ": must be debug, info, warn or error";
        o.*f.text = value;
        break;
      }
      case Kind::kAllowedUrls: {
        auto urls = yellowdog::AllowedUrls::parse(value);
        if (urls)
          o.yellowdog_allowed_urls = std::move(*urls);
        else
          err = urls.error();  // names the flag and the entry
        break;
      }
      case Kind::kCaFile: {
        auto text = read_small_file(value);
        if (!text)
          err = flag + ": cannot read " + value + ": " + text.error();
        else if (auto why = http::ca_pem_error(*text))
          err = flag + ": " + value + ": " + *why;
        else
          o.yellowdog_ca_pem = std::move(*text);
        break;
      }
      case Kind::kObserveMode:
        if (value != "search" && value != "poll") err = flag + ": must be search or poll";
        o.*f.text = value;
        break;
      case Kind::kQps:
        err = parse_qps(flag, value, o.kube_api_qps);
        break;
      case Kind::kSelector: {
        auto selector = kube::LabelSelector::parse(value);
        if (selector)
          o.*f.text = selector->normalized();
        else
          err = flag + ": " + selector.error();
        break;
      }
      case Kind::kBool:
        break;
    }
    if (err) return unexpected(*err);
  }
  if (!o.shard_selector.empty() && !lease_named) o.leader_election_id = shard_lease_name(o.shard_selector);
  return o;
}

}  // namespace raydog::cli
