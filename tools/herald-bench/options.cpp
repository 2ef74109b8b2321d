#include "options.hpp"

#include <sstream>
#include <stdexcept>

namespace herald::bench {

options::options(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    auto eq = arg.find('=');
    if (arg.rfind("--", 0) != 0 || eq == std::string::npos)
      throw std::invalid_argument("expected --name=value, got " + arg);
    values_[arg.substr(2, eq - 2)] = arg.substr(eq + 1);
  }
}

std::string options::text(const std::string& name,
                          const std::string& fallback) {
  used_[name] = true;
  auto i = values_.find(name);
  return i == values_.end() ? fallback : i->second;
}

int64_t options::number(const std::string& name, int64_t fallback) {
  auto value = text(name, "");
  return value.empty() ? fallback : std::stoll(value);
}

double options::real(const std::string& name, double fallback) {
  auto value = text(name, "");
  return value.empty() ? fallback : std::stod(value);
}

std::vector<std::string> options::list(const std::string& name,
                                       const std::string& fallback) {
  std::vector<std::string> out;
  std::istringstream in(text(name, fallback));
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty())
      out.push_back(item);
  return out;
}

void options::check_all_used() const {
  for (auto& [name, value] : values_)
    if (!used_.count(name))
      throw std::invalid_argument("unknown option --" + name);
}

} // namespace herald::bench
