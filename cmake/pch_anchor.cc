// The one source file of each faultline_pch_<kind> target (cmake/build_speed.cmake): a target
// needs a source to own a precompiled header that others reuse.
