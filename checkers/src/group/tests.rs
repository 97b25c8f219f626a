//! Unit tests of the group checker's edge rules.
