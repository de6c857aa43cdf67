#include "api/types.hpp"

#include <array>

namespace raydog::api {
namespace {

constexpr std::array<std::string_view, 2> kDeletionPolicies = {"Delete", "Orphan"};
constexpr std::array<std::string_view, 7> kPhases = {"Pending",   "Provisioning", "Running", "Degraded",
                                                     "Suspended", "Failed",       "Deleting"};

constexpr std::array<std::string_view, 2> kDimAddresses = {"Private", "Public"};
constexpr std::array<std::string_view, 2> kMembershipPolicies = {"Immediate", "WhenIdle"};

template <class Array>
std::vector<std::string> as_strings(const Array& a) {
  return std::vector<std::string>(a.begin(), a.end());
}

}  // namespace

std::string_view to_string(DeletionPolicy p) {
  return kDeletionPolicies[static_cast<size_t>(p)];
}

std::optional<DeletionPolicy> deletion_policy_from_string(std::string_view s) {
  for (size_t i = 0; i < kDeletionPolicies.size(); ++i)
    if (kDeletionPolicies[i] == s) return static_cast<DeletionPolicy>(i);
  return std::nullopt;
}

std::string_view to_string(Phase p) {
  return kPhases[static_cast<size_t>(p)];
}

std::optional<Phase> phase_from_string(std::string_view s) {
  for (size_t i = 0; i < kPhases.size(); ++i)
    if (kPhases[i] == s) return static_cast<Phase>(i);
  return std::nullopt;
}

const std::vector<std::string>& deletion_policy_values() {
  static const auto values = as_strings(kDeletionPolicies);
  return values;
}

const std::vector<std::string>& phase_values() {
  static const auto values = as_strings(kPhases);
  return values;
}

std::string_view to_string(DimAddress a) {
  return kDimAddresses[static_cast<size_t>(a)];
}

std::optional<DimAddress> dim_address_from_string(std::string_view s) {
  for (size_t i = 0; i < kDimAddresses.size(); ++i)
    if (kDimAddresses[i] == s) return static_cast<DimAddress>(i);
  return std::nullopt;
}

std::string_view to_string(MembershipPolicy p) {
  return kMembershipPolicies[static_cast<size_t>(p)];
}

std::optional<MembershipPolicy> membership_policy_from_string(std::string_view s) {
  for (size_t i = 0; i < kMembershipPolicies.size(); ++i)
    if (kMembershipPolicies[i] == s) return static_cast<MembershipPolicy>(i);
  return std::nullopt;
}

const std::vector<std::string>& dim_address_values() {
  static const auto values = as_strings(kDimAddresses);
  return values;
}

const std::vector<std::string>& membership_policy_values() {
  static const auto values = as_strings(kMembershipPolicies);
  return values;
}

}  // namespace raydog::api
