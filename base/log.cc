#include "base/log.h"

#include <string>

#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace triad::base {

void InitLogging(absl::string_view level) {
  auto logger = spdlog::get("triad");
  if (!logger) logger = spdlog::stderr_logger_mt("triad");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  spdlog::set_level(spdlog::level::from_str(std::string(level)));
}

}  // namespace triad::base
