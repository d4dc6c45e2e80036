//! One integration-test binary (one link, shared helpers): the day in the store, part by part.

mod asyncapi_tests;
mod barcode_table;
mod bounds_tests;
mod campaign_tests;
mod cli_tests;
mod common;
mod daemon_tests;
mod doctor_tests;
mod fault_campaign;
mod guard_tests;
mod hq_config_tests;
mod hq_tests;
mod model_props;
mod model_table;
mod mqtt;
mod net;
mod packaging_tests;
mod picker;
mod platform_tests;
mod scanner_tests;
mod security_tests;
mod store_props;
mod store_tests;
mod tls_tests;
mod tmux_tests;
mod tui_tests;
