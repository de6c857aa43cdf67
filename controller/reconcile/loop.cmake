# raydog_reconcile: the reconciler's I/O half (observe, act, credentials, the reconciler and its extension
# seam). core.cmake (pure plan/status) is the other half. It links no extension: the wiring in controller/
# (raydog_wiring) hands the extensions to the Reconciler.
set(_raydog_reconcile_sources
  credentials.cpp
  observe.cpp
  observe_records.cpp
  packed_snapshot.cpp
  act.cpp
  reconciler.cpp
)
add_library(raydog_reconcile ${_raydog_reconcile_sources})
target_include_directories(raydog_reconcile PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(raydog_reconcile PUBLIC raydog_kube raydog_yellowdog raydog_util raydog_runtime raydog_api raydog_reconcile_core raydog_http
  nlohmann_json::nlohmann_json Boost::system)
