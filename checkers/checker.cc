#include "checkers/checker.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <stdexcept>

#include "checkers/checker_util.h"

namespace faultline {

nlohmann::json ValidityToJson(Validity v) {
  switch (v) {
    case Validity::kTrue:
      return true;
    case Validity::kFalse:
      return false;
    case Validity::kUnknown:
      break;
  }
  return "unknown";
}

Validity ValidityFromJson(const nlohmann::json& j) {
  if (j.is_boolean()) return j.get<bool>() ? Validity::kTrue : Validity::kFalse;
  if (j.is_string() && j.get_ref<const std::string&>() == "unknown") return Validity::kUnknown;
  throw std::invalid_argument("validity must be true, false or \"unknown\", got " + j.dump());
}

std::string_view ValidityName(Validity v) {
  switch (v) {
    case Validity::kTrue:
      return "valid";
    case Validity::kFalse:
      return "invalid";
    case Validity::kUnknown:
      break;
  }
  return "unknown";
}

Validity Worst(Validity a, Validity b) {
  if (a == Validity::kFalse || b == Validity::kFalse) return Validity::kFalse;
  if (a == Validity::kUnknown || b == Validity::kUnknown) return Validity::kUnknown;
  return Validity::kTrue;
}

std::string NoFinalReadSummary(const std::vector<std::string>& keys, std::string_view ops) {
  return fmt::format("no final read succeeded for {}, so their {} could not be checked", KeysText(keys), ops);
}

std::string NotConfirmedSummary(int64_t missing, std::string_view summary) {
  return fmt::format("not confirmed, as {} history line{} missing and could explain it: {}", missing,
                     missing == 1 ? " is" : "s are", summary);
}

}  // namespace faultline
