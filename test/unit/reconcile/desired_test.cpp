#include <doctest/doctest.h>
#include "controller/reconcile/desired.hpp"
#include "controller/reconcile/scripts.hpp"
TEST_CASE("scripts: placeholder") { CHECK(!raydog::reconcile::scripts::head().empty()); }
