//! What the unit tests' fake hosts share: a journal of the calls made of them, one of which
//! can be made to fail before it does anything.

/// The calls a fake host was asked for, and the one to fail.
#[derive(Default)]
pub struct Journal {
    calls: Vec<String>,
    fail_at: Option<usize>,
}

impl Journal {
    /// The calls made so far.
    pub fn calls(&self) -> Vec<String> {
        self.calls.clone()
    }

    /// Makes the `n`th call from now fail (0: the next).
    pub fn fail_after(&mut self, n: usize) {
        self.fail_at = Some(self.calls.len() + n);
    }

    /// Records call `what`; the failure's text when it is the one to fail.
    pub fn record(&mut self, what: &str) -> Result<(), String> {
        let n = self.calls.len();
        self.calls.push(what.to_string());
        match self.fail_at == Some(n) {
            true => Err(format!("{what}: injected")),
            false => Ok(()),
        }
    }

    /// [`Journal::record`] as a host driver's failure.
    pub fn host_call(&mut self, what: &str) -> Result<(), crate::runtime::HostError> {
        self.record(what).map_err(crate::runtime::HostError::Failed)
    }
}
