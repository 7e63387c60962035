//! Concord's domain: the types and the rules of strategic healthcare partnerships.
//!
//! This crate is pure on purpose: no web framework, no database driver, no async runtime.
//! Everything here is a value or a function over values, so every rule can be unit- and
//! property-tested without starting anything. Storage and the web surface depend on this crate,
//! never the other way round.

#[macro_use]
mod macros;

pub mod account;
pub mod attainment;
pub mod audit;
pub mod capability;
pub mod charter;
pub mod charter_diff;
pub mod csv_io;
pub mod error;
pub mod fhir;
pub mod health;
pub mod ids;
pub mod journey;
pub mod ledger;
pub mod market;
pub mod meeting;
pub mod note;
pub mod organization;
pub mod paging;
pub mod partnership;
pub mod review;
pub mod text;
pub mod verdict;

pub use error::{FieldError, UnknownValue, ValidationErrors};
pub use ids::{NoteId, OrgId, PartnershipId, TokenId, UserId};
