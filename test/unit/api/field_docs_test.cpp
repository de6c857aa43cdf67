// The field tables of api/README.md and the field declarations they are generated from.
#include <doctest/doctest.h>

#include <stdexcept>

#include "api/field_docs.hpp"
#include "test/support/process.hpp"

using namespace raydog::api;

TEST_CASE("field docs: api/README.md's field tables are the generator's output") {
  std::string readme = raydog::test::read_file(raydog::test::source_path("api/README.md"));
  std::string regenerated;
  REQUIRE_NOTHROW(regenerated = with_field_tables(readme));
  CHECK_MESSAGE(readme == regenerated, "api/README.md's field tables are stale: run `make crd`");
}

TEST_CASE("field docs: a row gives type, required, allowed values, default and limits") {
  const std::string spec = field_table("spec");
  for (const char* row : {
           "| `spec.workerPools` | []object | max 100 items | Ray worker pools,",
           "| `spec.workerPools[].nodes` | int32 | **required**; >= 0; <= 100000 | Desired number",
           "| `spec.daliuge.dimAddress` | string | Private \\| Public | Which head",
           "| `spec.headAccess` | string | Private \\| Public \\| None; default `Private` | The head address",
           "| `spec.drainTimeout` | string | default `10m` | Scale-down drains",
           "| `spec.daliuge.ports` | object | default `{}` | TCP ports",
           "| `spec.daliuge.ports.dim` | int32 | default `8001`; >= 1; <= 65535 | DIM REST API",
           "| `spec.head.instanceTags` | map[string]string |  | Cloud tags",
           "| `spec.head` | object | **required** | The Ray head node",
           "| `spec.lifetime` | string |  | Maximum lifetime of the cluster's Ray nodes: every task group's "
           "taskTimeout on YellowDog. Absent: no limit. A Go duration:",
       })
    CHECK_MESSAGE(spec.find(row) != std::string::npos, row);
  const std::string status = field_table("status");
  CHECK(status.find("| `status.conditions[].status` | string | **required**; True \\| False \\| Unknown |") !=
        std::string::npos);
  CHECK(status.find("`spec.") == std::string::npos);
}

TEST_CASE("field docs: a README without the markers is an error, not silently left alone") {
  CHECK_THROWS_AS(with_field_tables("# api\nno tables here\n"), std::runtime_error);
}
