#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace herald::bench {

/// `--name=value` arguments after the subcommand; the orchestrator is the
/// only caller, so unknown names are an error rather than a guess.
class options {
public:
  options(int argc, char** argv, int first);

  std::string text(const std::string& name, const std::string& fallback);
  int64_t number(const std::string& name, int64_t fallback);
  double real(const std::string& name, double fallback);
  std::vector<std::string> list(const std::string& name,
                                const std::string& fallback);

  /// Throws std::invalid_argument naming any option nobody asked for.
  void check_all_used() const;

private:
  std::map<std::string, std::string> values_;
  std::map<std::string, bool> used_;
};

} // namespace herald::bench
