#pragma once
// Quantities as users write them in spec.workerPools[].rayResources: Kubernetes quantity strings ("8",
// "0.5", "500m", "32Gi", "1e3"), so `memory: 32Gi` means what it means in a Pod spec. Ray counts memory in
// bytes and every other resource as a plain number, which is what parse_quantity gives. kQuantityPattern
// is the same grammar for the CRD schema.
#include <optional>
#include <string>
#include <string_view>

namespace raydog::api {

// The value of `text`, or nullopt when it is not a quantity (or negative, or not finite). Suffixes: binary
// Ki Mi Gi Ti Pi Ei, decimal k M G T P E, milli m; or a decimal exponent (e3, E-2).
std::optional<double> parse_quantity(std::string_view text);
// The same without a fraction or milli: what ray start takes for CPU, GPU and bytes (kRuleRayWholeResources
// in spec_fields.hpp spells it inside its CEL text).
inline constexpr const char* kWholeQuantityPattern = "^[+]?[0-9]+(k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+]?[0-9]+)?$";
inline constexpr const char* kQuantityPattern =
    "^[+]?[0-9]+([.][0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][-+]?[0-9]+)?$";

// Why `text` is not a quantity, for validation messages ("\"8 cores\": expected a number with an optional
// suffix (500m, 8, 32Gi, 1e3)").
std::string quantity_error(std::string_view text);

}  // namespace raydog::api
