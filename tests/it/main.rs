//! Workspace integration tests: each test starts its own provider on `127.0.0.1:0` with a fresh
//! SQLite file and drives it over plain HTTP as an independent relying party.

mod support;

mod authorize_errors;
mod backchannel_logout;
mod cimd;
mod client_credentials;
mod client_jwt;
mod cluster;
mod code_flow;
mod cors;
mod deploy;
mod device;
mod discovery;
mod doctor;
mod dpop;
mod encrypted_responses;
mod expiry;
mod flood;
mod introspect_revoke;
mod logout;
mod metrics;
mod openapi;
mod par;
mod refresh;
mod refresh_grace;
mod registration;
mod request_objects;
mod resource_server;
mod resources;
mod second_factor;
mod security;
mod serving;
mod throttle;
mod token_errors;
mod token_exchange;
mod userinfo;
