// list_all: every page of a list, following continue tokens. Apart from rest.cpp, which holds only plain
// functions (decoders, paths, queries), so the fuzz build compiles that file without coroutines.
#include "controller/kube/rest.hpp"

namespace raydog::kube {

net::awaitable<Result<ObjectList, ApiError>> list_all(Api& api, ResourceRef ref, std::string ns,
                                                      ListOptions options) {
  ObjectList all;
  bool first = true;
  for (;;) {
    auto page = co_await api.list(ref, ns, options);
    if (!page) co_return unexpected(std::move(page.error()));
    if (first) all.resource_version = page->resource_version;
    first = false;
    for (auto& item : page->items) all.items.push_back(std::move(item));
    if (page->continue_token.empty()) break;
    options.continue_token = page->continue_token;
    options.resource_version.clear();  // RV + continue together is a 400
    options.resource_version_match.clear();
  }
  co_return all;
}

}  // namespace raydog::kube
