//! STIX 2.1 validation. (In progress.)
