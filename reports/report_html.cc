#include <fmt/format.h>

#include "reports/assets.h"
#include "reports/html_page.h"
#include "reports/junit.h"
#include "reports/report.h"

namespace faultline {

std::filesystem::path WriteReport(const std::filesystem::path& run_dir, const ReportOptions& options) {
  HtmlPage page;
  nlohmann::json data = BuildReportData(run_dir, options);
  const std::string verdict =
      data["verdict"]["valid"].is_boolean() ? (data["verdict"]["valid"].get<bool>() ? "valid" : "invalid") : "unknown";
  page.title = fmt::format("{}: {} — faultline", data["run"]["name"].get<std::string>(), verdict);
  page.styles = {assets::kUplotCss, assets::kReportCss};
  page.scripts = {assets::kUplotJs, assets::kCommonJs, assets::kReportJs};
  page.data = std::move(data);
  const auto path = run_dir / "report.html";
  WriteTextFile(path, RenderHtmlPage(page));
  return path;
}

void WriteRunReports(const std::filesystem::path& run_dir) {
  WriteReport(run_dir);
  WriteJunitFile(run_dir);
}

}  // namespace faultline
