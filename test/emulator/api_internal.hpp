#pragma once
// Shared by the api_*.cpp files only.
#include <string>

#include "test/emulator/api.hpp"

namespace raydog::emulator {

struct Api::Route {
  Registry::Ptr info;
  std::string ns;  // from the URL ("" when absent)
  bool has_ns = false;
  std::string name;         // "" for collections
  std::string subresource;  // "", "status", "scale"
};

ApiResponse json_response(int code, const json& body);
ApiResponse error_response(const ApiError& e);
bool wants_table(const std::string& accept);
Result<IncludeObject, ApiError> include_object(const std::map<std::string, std::string>& q);
bool dry_run(const std::map<std::string, std::string>& q);
std::string qget(const std::map<std::string, std::string>& q, const std::string& k);

}  // namespace raydog::emulator
