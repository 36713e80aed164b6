//! What the registry and groups report when they cannot do what they were asked. Every
//! error of a send hands the message back.

use core::fmt;

use crate::mailbox::RefSendError;

/// Why a [`Registry`](super::Registry) operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegistryError {
    /// Every slot holds a name.
    Full,
    /// The name is registered already.
    NameTaken,
    /// No process is registered under the name.
    UnknownName,
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Full => "registry full",
            Self::NameTaken => "name already registered",
            Self::UnknownName => "no process registered under that name",
        })
    }
}

impl core::error::Error for RegistryError {}

/// A send to a name that did not queue its message, which is handed back.
#[derive(PartialEq, Eq)]
pub enum NamedSendError<M> {
    /// No process is registered under the name.
    UnknownName(M),
    /// The named process refused the message (down, full, or closed).
    Refused(RefSendError<M>),
}

impl<M> NamedSendError<M> {
    /// The message that was not sent.
    pub fn into_inner(self) -> M {
        match self {
            Self::UnknownName(m) => m,
            Self::Refused(e) => e.into_inner(),
        }
    }

    /// True for [`UnknownName`](Self::UnknownName).
    pub fn is_unknown_name(&self) -> bool {
        matches!(self, Self::UnknownName(_))
    }
}

impl<M> fmt::Debug for NamedSendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownName(_) => f.write_str("UnknownName(..)"),
            Self::Refused(e) => f.debug_tuple("Refused").field(e).finish(),
        }
    }
}

impl<M> fmt::Display for NamedSendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownName(_) => {
                f.write_str("no process registered under that name: message handed back")
            }
            Self::Refused(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl<M> core::error::Error for NamedSendError<M> {}

/// Why a [`Group`](super::Group) could not take a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GroupError {
    /// Every slot holds a member.
    Full,
    /// The ref (its address) is a member already.
    AlreadyMember,
}

impl fmt::Display for GroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Full => "group full",
            Self::AlreadyMember => "already a member of the group",
        })
    }
}

impl core::error::Error for GroupError {}

/// A [`dispatch`](super::Group::dispatch) that no member accepted; the message is
/// handed back.
#[derive(PartialEq, Eq)]
pub enum GroupSendError<M> {
    /// The group has no members.
    NoMembers(M),
    /// Every member was tried and refused (full, down or closed).
    NoneAccepted(M),
}

impl<M> GroupSendError<M> {
    /// The message that was not sent.
    pub fn into_inner(self) -> M {
        match self {
            Self::NoMembers(m) | Self::NoneAccepted(m) => m,
        }
    }
}

impl<M> fmt::Debug for GroupSendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoMembers(_) => f.write_str("NoMembers(..)"),
            Self::NoneAccepted(_) => f.write_str("NoneAccepted(..)"),
        }
    }
}

impl<M> fmt::Display for GroupSendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoMembers(_) => "group has no members: message handed back",
            Self::NoneAccepted(_) => "no member of the group accepted: message handed back",
        })
    }
}

impl<M> core::error::Error for GroupSendError<M> {}
