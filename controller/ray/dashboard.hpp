#pragma once
// The head's dashboard (port 8265): GET /api/version, the Ray version the operator checks before it relies
// on the GCS autoscaler-state service (Ray >= 2.10, ray-gcs.md §2.4.1) and the session name, which changes
// when the head restarts (ray-jobs-api.md §1).
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without including it

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "controller/http/proxy.hpp"
#include "controller/ray/head_client.hpp"
#include "controller/util/result.hpp"

namespace raydog::ray {

struct DashboardVersion {
  std::string api_version;   // "version": the Jobs API version ("3", "4", "5")
  std::string ray_version;   // "2.49.2"
  std::string ray_commit;
  std::string session_name;  // absent in older Rays
};

// The body of GET /api/version; nullopt unless it is a JSON object with a string ray_version.
std::optional<DashboardVersion> parse_dashboard_version(std::string_view body);

// Ray's own version numbers ("2.10.0", "2.49.2", "3.0.0.dev0"): at least `major.minor`? Unparseable: false.
bool ray_at_least(std::string_view version, int major, int minor);
inline constexpr int kMinRayMajor = 2, kMinRayMinor = 10;  // the GCS autoscaler-state service (ray-gcs.md)

// GET <dashboard_url>/api/version with a deadline, through the operator's egress rules.
boost::asio::awaitable<Result<DashboardVersion, HeadError>> dashboard_version(
    boost::asio::any_io_executor ex, std::string dashboard_url, http::EgressProxies egress,
    std::chrono::milliseconds deadline);

}  // namespace raydog::ray
