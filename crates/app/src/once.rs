//! A value made on first use and kept, where making it can fail (and is tried again
//! next time if it did).

use std::sync::Mutex;

pub(crate) struct Once<T>(Mutex<Option<T>>);

impl<T> Default for Once<T> {
    fn default() -> Self {
        Once(Mutex::new(None))
    }
}

impl<T: Clone> Once<T> {
    pub(crate) fn get_or_try<E>(&self, make: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = slot.as_ref() {
            return Ok(v.clone());
        }
        let v = make()?;
        *slot = Some(v.clone());
        Ok(v)
    }
}
