// The report front end (reports/web), compiled into faultline at build time
// (embed_assets.cmake) so that report.html and store/index.html are single
// files that open from disk with no network: uPlot from the pinned npm
// package (reports/web/package-lock.json) and our own scripts and styles.
#pragma once

#include <string_view>

namespace faultline::assets {

extern const std::string_view kUplotJs;    // node_modules/uplot/dist/uPlot.iife.min.js
extern const std::string_view kUplotCss;   // node_modules/uplot/dist/uPlot.min.css
extern const std::string_view kCommonJs;   // web/src/common.js: helpers of both pages
extern const std::string_view kReportJs;   // web/src/report/*.js then web/src/report.js, joined by newlines
extern const std::string_view kReportCss;  // web/src/report.css
extern const std::string_view kIndexJs;    // web/src/index.js
extern const std::string_view kIndexCss;   // web/src/index.css

}  // namespace faultline::assets
