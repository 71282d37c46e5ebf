//! Login accounts in memory for the accounts component's unit tests, with a failure injected
//! at any one change.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use ivm_host::accounts::{Account, IVM_GECOS};

use super::super::fake::Journal;
use super::AccountHost;

/// One account as the fake host keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeAccount {
    /// Its passwd entry.
    pub account: Account,
    /// Its shadow hash.
    pub hash: String,
    /// In `ivm-users`.
    pub in_group: bool,
    /// Locked and expired.
    pub locked: bool,
}

#[derive(Default)]
struct Inner {
    accounts: BTreeMap<String, FakeAccount>,
    group: bool,
    next_uid: u32,
    journal: Journal,
    /// A name someone else takes just before ivm's `useradd` of it runs.
    raced: Option<String>,
}

/// Accounts in memory.
#[derive(Default)]
pub struct FakeAccounts {
    inner: Mutex<Inner>,
}

impl FakeAccounts {
    /// The accounts as they are now.
    pub fn snapshot(&self) -> BTreeMap<String, FakeAccount> {
        self.inner.lock().unwrap().accounts.clone()
    }

    /// The changes asked for so far.
    pub fn calls(&self) -> Vec<String> {
        self.inner.lock().unwrap().journal.calls()
    }

    /// Makes the `n`th change from now fail (0: the next), before it does anything.
    pub fn fail_after(&self, n: usize) {
        self.inner.lock().unwrap().journal.fail_after(n);
    }

    /// Has someone else make account `name` just before ivm's `useradd` of it runs.
    pub fn race_foreign(&self, name: &str) {
        self.inner.lock().unwrap().raced = Some(name.to_string());
    }

    /// Adds an account ivm did not make.
    pub fn put_foreign(&self, name: &str) {
        let mut i = self.inner.lock().unwrap();
        put_foreign(&mut i, name);
    }

    fn change<T>(
        &self,
        what: String,
        f: impl FnOnce(&mut Inner) -> Result<T, String>,
    ) -> Result<T, String> {
        let mut i = self.inner.lock().unwrap();
        i.journal.record(&what)?;
        f(&mut i)
    }
}

/// Adds account `name`, which ivm did not make.
fn put_foreign(i: &mut Inner, name: &str) {
    i.accounts.insert(
        name.to_string(),
        FakeAccount {
            account: Account {
                name: name.to_string(),
                uid: 900,
                gid: 900,
                gecos: "someone".into(),
                home: format!("/home/{name}").into(),
                shell: "/bin/bash".into(),
            },
            hash: "$y$foreign".into(),
            in_group: false,
            locked: false,
        },
    );
}

fn of<'a>(i: &'a mut Inner, name: &str) -> Result<&'a mut FakeAccount, String> {
    i.accounts
        .get_mut(name)
        .ok_or_else(|| format!("user '{name}' does not exist"))
}

impl AccountHost for FakeAccounts {
    fn account(&self, name: &str) -> Option<Account> {
        let i = self.inner.lock().unwrap();
        i.accounts.get(name).map(|a| a.account.clone())
    }

    fn create_login(&self, name: &str, shell: &Path) -> Result<(), String> {
        self.change(format!("create_login {name}"), |i| {
            if i.raced.take().is_some_and(|r| r == name) {
                put_foreign(i, name);
            }
            if i.accounts.contains_key(name) {
                return Err(format!("user '{name}' already exists"));
            }
            i.next_uid += 1;
            let uid = 2000 + i.next_uid;
            i.accounts.insert(
                name.to_string(),
                FakeAccount {
                    account: Account {
                        name: name.to_string(),
                        uid,
                        gid: uid,
                        gecos: IVM_GECOS.into(),
                        home: format!("/home/{name}").into(),
                        shell: shell.to_string_lossy().into_owned(),
                    },
                    hash: "!".into(),
                    in_group: true,
                    locked: false,
                },
            );
            Ok(())
        })
    }

    fn set_shell(&self, name: &str, shell: &Path) -> Result<(), String> {
        self.change(format!("set_shell {name}"), |i| {
            of(i, name)?.account.shell = shell.to_string_lossy().into_owned();
            Ok(())
        })
    }

    fn delete_login(&self, name: &str) -> Result<(), String> {
        self.change(format!("delete_login {name}"), |i| {
            i.accounts
                .remove(name)
                .map(|_| ())
                .ok_or_else(|| format!("user '{name}' does not exist"))
        })
    }

    fn shadow_hash(&self, name: &str) -> Option<String> {
        let i = self.inner.lock().unwrap();
        i.accounts.get(name).map(|a| a.hash.clone())
    }

    fn set_password_hash(&self, name: &str, hash: &str) -> Result<(), String> {
        self.change(format!("set_password_hash {name}"), |i| {
            of(i, name)?.hash = hash.to_string();
            Ok(())
        })
    }

    fn ensure_group(&self) -> Result<(), String> {
        self.change("ensure_group".into(), |i| {
            i.group = true;
            Ok(())
        })
    }

    fn in_ivm_group(&self, name: &str) -> bool {
        let i = self.inner.lock().unwrap();
        i.accounts.get(name).is_some_and(|a| a.in_group)
    }

    fn join_ivm_group(&self, name: &str) -> Result<(), String> {
        self.change(format!("join_ivm_group {name}"), |i| {
            of(i, name)?.in_group = true;
            Ok(())
        })
    }

    fn lock_login(&self, name: &str) -> Result<(), String> {
        self.change(format!("lock_login {name}"), |i| {
            of(i, name)?.locked = true;
            Ok(())
        })
    }

    fn end_processes(&self, uid: u32, _timeout: Duration) -> Result<usize, String> {
        self.change(format!("end_processes {uid}"), |_| Ok(0))
    }
}
