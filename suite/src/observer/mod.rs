//! The cluster observer (issue 11): samples leaders, epochs, ISR and the
//! controller while a trial runs and records each change in the history.
