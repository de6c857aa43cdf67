// raydog-field-docs FILE: rewrites the generated field tables of FILE (api/README.md) in place, from the
// field declarations (api/fields.hpp). `make crd` runs it after regenerating crds/.
#include <fstream>
#include <iostream>
#include <sstream>

#include "api/field_docs.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: raydog-field-docs api/README.md\n";
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  if (!in) {
    std::cerr << argv[1] << ": cannot read\n";
    return 1;
  }
  std::ostringstream text;
  text << in.rdbuf();
  try {
    const std::string updated = raydog::api::with_field_tables(text.str());
    if (updated == text.str()) return 0;
    std::ofstream out(argv[1], std::ios::binary | std::ios::trunc);
    out << updated;
    if (!out.flush()) {
      std::cerr << argv[1] << ": cannot write\n";
      return 1;
    }
    std::cout << "updated the field tables of " << argv[1] << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << argv[1] << ": " << e.what() << "\n";
    return 1;
  }
}
