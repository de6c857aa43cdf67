# raydog_reconcile: the reconciler's I/O half (observe, act, credentials, reconciler, controller wiring).
# Owned by the "loop" engineer; core.cmake (pure plan/status) is the other half.
set(_raydog_reconcile_sources
  credentials.cpp
  observe.cpp
  act.cpp
  reconciler.cpp
  controller.cpp
  controller_flags.cpp
)
add_library(raydog_reconcile ${_raydog_reconcile_sources})
target_include_directories(raydog_reconcile PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(raydog_reconcile PUBLIC raydog_kube raydog_yellowdog raydog_util raydog_runtime raydog_workqueue raydog_probes raydog_api raydog_reconcile_core raydog_daliuge_cluster raydog_http
  nlohmann_json::nlohmann_json Boost::system)
