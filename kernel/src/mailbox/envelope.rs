//! [`Envelope`]: a message of any type, so that one mailbox (`Sender<Envelope, N>`)
//! carries many message types, matched on the receiving side with [`msg!`](crate::msg).
//!
//! # Design
//!
//! An envelope is one heap allocation, the boxed message (`Box<dyn Any + Send>`), plus
//! the message's type name (for `Debug` and diagnostics) and, when it is a question sent
//! by [`Sender::ask`](super::Sender::ask), its [`Answer`]: the sending end of a
//! [`oneshot`](super::oneshot) channel whose receiving end the asker awaits. The answer
//! is type-erased too (`Box<dyn Any + Send>`); the asker checks its type when it arrives
//! and reports [`AskError::WrongReplyType`](super::AskError::WrongReplyType) on a
//! mismatch.
//!
//! # Invariants
//!
//! - An envelope holds at most one [`Answer`], and an answer sends at most one reply
//!   (`Answer::reply` consumes it).
//! - An envelope never hands out its message twice: every by-value accessor consumes it,
//!   and a mismatch gives the whole envelope back (message and answer untouched).
//! - Dropping an ask's envelope, or its [`Answer`], without replying wakes the asker at
//!   once with [`AskError::NoReply`](super::AskError::NoReply); it does not wait for its
//!   timeout. So does taking the message out by value with [`Envelope::downcast`], which
//!   drops the answer: use [`Envelope::into_request`] (or the `=!>` arm of `msg!`) to
//!   keep it.
//! - A reply to an asker that has gone away (timed out, or its future dropped) is handed
//!   back to the replier in `Err`, or, if the asker gave up after it arrived, dropped with
//!   the asker's receiving end. Never both, never lost without one of the two.
//!
//! No `unsafe` here: the type checks are `Any`'s, the reply channel is [`oneshot`]'s.
//!
//! [`oneshot`]: super::oneshot

use alloc::boxed::Box;
use core::any::Any;
use core::fmt;

use super::oneshot::{ReplyReceiver, ReplySender, oneshot};

/// A type-erased reply on its way from an [`Answer`] to the asker.
pub(crate) type Reply = Box<dyn Any + Send>;

/// A message of any `Send + 'static` type, and, if it is a question, the [`Answer`]
/// through which its receiver replies.
///
/// Match it with [`msg!`](crate::msg), or by hand with [`is`](Self::is),
/// [`downcast_ref`](Self::downcast_ref) and [`downcast`](Self::downcast).
///
/// ```
/// use ravelin_kernel::mailbox::Envelope;
///
/// let envelope = Envelope::new(42u32);
/// assert!(envelope.is::<u32>());
/// assert_eq!(envelope.downcast_ref::<u32>(), Some(&42));
/// let envelope = envelope.downcast::<String>().unwrap_err(); // handed back
/// assert_eq!(envelope.downcast::<u32>().ok(), Some(42));
/// ```
pub struct Envelope {
    message: Box<dyn Any + Send>,
    type_name: &'static str,
    answer: Option<Answer>,
}

impl Envelope {
    /// An envelope carrying `message` (one allocation), not expecting a reply.
    pub fn new<T: Any + Send>(message: T) -> Self {
        Self {
            message: Box::new(message),
            type_name: core::any::type_name::<T>(),
            answer: None,
        }
    }

    /// An envelope carrying `question` with an [`Answer`], and the receiving end its
    /// reply will come to.
    pub(crate) fn request<T: Any + Send>(question: T) -> (Self, ReplyReceiver<Reply>) {
        let (sender, receiver) = oneshot();
        let mut envelope = Self::new(question);
        envelope.answer = Some(Answer { sender });
        (envelope, receiver)
    }

    /// True if the message is a `T`.
    pub fn is<T: Any>(&self) -> bool {
        self.message.is::<T>()
    }

    /// The message, if it is a `T`.
    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        self.message.downcast_ref::<T>()
    }

    /// The message, mutably, if it is a `T`.
    pub fn downcast_mut<T: Any>(&mut self) -> Option<&mut T> {
        self.message.downcast_mut::<T>()
    }

    /// The message by value if it is a `T`, otherwise the envelope back, untouched.
    ///
    /// The envelope is consumed: if it was a question, its [`Answer`] is dropped and the
    /// asker sees [`NoReply`](super::AskError::NoReply). To answer it, use
    /// [`into_request`](Self::into_request) or [`take_answer`](Self::take_answer) first.
    pub fn downcast<T: Any>(self) -> Result<T, Self> {
        let Self {
            message,
            type_name,
            answer,
        } = self;
        match message.downcast::<T>() {
            Ok(message) => Ok(*message), // the answer, if any, is dropped here
            Err(message) => Err(Self {
                message,
                type_name,
                answer,
            }),
        }
    }

    /// A question of type `T`, by value, with its [`Answer`]; the envelope back,
    /// untouched, if the message is not a `T` or the envelope is not a question.
    pub fn into_request<T: Any>(self) -> Result<(T, Answer), Self> {
        match self {
            Self {
                message,
                type_name,
                answer: Some(answer),
            } => match message.downcast::<T>() {
                Ok(message) => Ok((*message, answer)),
                Err(message) => Err(Self {
                    message,
                    type_name,
                    answer: Some(answer),
                }),
            },
            not_a_question => Err(not_a_question),
        }
    }

    /// True if the envelope is a question whose [`Answer`] is still in it.
    pub fn is_ask(&self) -> bool {
        self.answer.is_some()
    }

    /// Replies to the question in this envelope, taking its [`Answer`]. The value is
    /// handed back in `Err` if there is nobody to answer: the envelope is not a question,
    /// it was answered already, or the asker has gone away (timed out, or dropped its
    /// ask).
    pub fn reply<R: Any + Send>(&mut self, value: R) -> Result<(), R> {
        match self.answer.take() {
            Some(answer) => answer.reply(value),
            None => Err(value),
        }
    }

    /// Takes the [`Answer`] out, to reply later or elsewhere; `None` if the envelope is
    /// not a question or the answer was taken already.
    pub fn take_answer(&mut self) -> Option<Answer> {
        self.answer.take()
    }

    /// The name of the message's type (as `core::any::type_name` gives it: for
    /// diagnostics only, not unique).
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// The boxed message and the answer, if any.
    pub fn into_parts(self) -> (Box<dyn Any + Send>, Option<Answer>) {
        (self.message, self.answer)
    }
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("type", &self.type_name)
            .field("ask", &self.is_ask())
            .finish()
    }
}

/// The reply side of a question sent by [`Sender::ask`](super::Sender::ask): sends one
/// reply, of any `Send + 'static` type, to the asker.
///
/// Dropping it without replying wakes the asker with
/// [`AskError::NoReply`](super::AskError::NoReply). The asker checks the reply's type:
/// one it did not ask for ends its ask in
/// [`AskError::WrongReplyType`](super::AskError::WrongReplyType) (the reply is dropped).
pub struct Answer {
    sender: ReplySender<Reply>,
}

impl Answer {
    /// Sends `value` to the asker. If the asker has gone away (timed out, or dropped its
    /// ask) the value is handed back in `Err` and nothing else happens. `Ok` means the
    /// reply reached the asker's end; an asker that gives up just after drops it.
    pub fn reply<R: Any + Send>(self, value: R) -> Result<(), R> {
        match self.sender.send(Box::new(value)) {
            Ok(()) => Ok(()),
            Err(back) => match back.downcast::<R>() {
                Ok(value) => Err(*value),
                Err(_) => unreachable!("the reply handed back is the one just boxed"),
            },
        }
    }

    /// True once the asker has gone away: a reply now would be handed back.
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }
}

impl fmt::Debug for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Answer")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// Matches an [`Envelope`](crate::mailbox::Envelope) on its message's type, in the style
/// of bastion's `msg!`.
///
/// ```text
/// msg! { envelope_expression,
///     ref name: Type => body,            // by reference: `name: &Type`
///     name: Type => body,                // by value (`mut name: Type` too)
///     _: Type => body,                   // by type only; the message is dropped
///     name: Type =!> answer => body,     // a question: `name: Type`, `answer: Answer`
///     other => body,                     // fallback: `other: Envelope` (or `mut other`)
///     _ => body,                         // fallback that drops the envelope
/// }
/// ```
///
/// - The first argument is an expression of type `Envelope`, taken by value; the arms
///   follow, separated by commas (optional after a `{ block }` body, as in `match`).
/// - Arms are tried in order; the first whose type matches runs, and the whole `msg!`
///   is an expression with the value of that arm's body, so every body has the same
///   type.
/// - `ref name: Type` binds `&Type` and drops the envelope after the body; if it was a
///   question the asker then sees `NoReply`. `name: Type` takes the message by value
///   and drops the answer at once, with the same effect.
/// - `name: Type =!> answer` matches only a *question* of that type (an envelope sent by
///   [`Sender::ask`](crate::mailbox::Sender::ask)); it binds the message by value and
///   the [`Answer`](crate::mailbox::Answer), whose `answer.reply(value)` sends the reply
///   (it returns `Err(value)` if the asker has gone away). A message of that type sent
///   with `tell` skips the arm and goes on to the next one.
/// - The fallback arm (`other =>` or `_ =>`) is required, and must come last: it
///   receives the envelope no other arm took, so nothing is dropped without the code
///   saying so.
///
/// ```
/// use ravelin_kernel::mailbox::Envelope;
/// use ravelin_kernel::msg;
///
/// struct Ping(u32);
/// #[derive(Debug, PartialEq)]
/// struct Pong(u32);
///
/// fn handle(envelope: Envelope) -> String {
///     msg! { envelope,
///         ref n: u32 => format!("u32 {n}"),
///         s: String => format!("string {s}"),
///         ping: Ping =!> answer => {
///             let _ = answer.reply(Pong(ping.0 + 1)); // the asker may have gone
///             String::from("asked")
///         }
///         _: Ping => String::from("a ping, but not a question"),
///         other => format!("something else: {}", other.type_name()),
///     }
/// }
///
/// assert_eq!(handle(Envelope::new(7u32)), "u32 7");
/// assert_eq!(handle(Envelope::new(String::from("hi"))), "string hi");
/// assert_eq!(handle(Envelope::new(1.5f64)), "something else: f64");
/// // A `Ping` sent with `tell` (not a question) skips the `=!>` arm.
/// assert_eq!(handle(Envelope::new(Ping(1))), "a ping, but not a question");
/// ```
///
/// Without a fallback arm, `msg!` does not compile:
///
/// ```compile_fail
/// use ravelin_kernel::{mailbox::Envelope, msg};
///
/// let n = msg! { Envelope::new(1u32),
///     n: u32 => n,
/// };
/// ```
///
/// With a mailbox of envelopes, an ask and its answer (see
/// [`Sender::ask`](crate::mailbox::Sender::ask)):
///
/// ```
/// use ravelin_hal::{Duration, TestPlatform};
/// use ravelin_kernel::mailbox::{self, Envelope};
/// use ravelin_kernel::msg;
/// use ravelin_kernel::sched::Executor;
///
/// static PLATFORM: TestPlatform = TestPlatform::new(1);
/// static EXECUTOR: Executor = Executor::new(&PLATFORM);
///
/// struct Ping;
/// struct Pong;
///
/// let (tx, mut rx) = mailbox::channel::<Envelope, 8>();
/// let mut server = EXECUTOR.spawn(async move {
///     while let Some(envelope) = rx.recv().await {
///         msg! { envelope,
///             _: Ping =!> answer => { let _ = answer.reply(Pong); }
///             _ => {}
///         }
///     }
/// });
/// let mut client = EXECUTOR.spawn(async move {
///     let pong = tx.ask::<Ping, Pong>(Ping, EXECUTOR.timers(), Duration::from_secs(1));
///     pong.await.is_ok()
/// });
/// assert!(EXECUTOR.block_on(&mut client).unwrap());
/// EXECUTOR.block_on(&mut server).unwrap();
/// ```
#[macro_export]
macro_rules! msg {
    // Each arm: its head, then its body (`@body` splits it off the rest).
    (@arm $env:ident; ref $name:ident : $t:ty => $($tail:tt)*) => {
        $crate::msg!(@body $env; (ref $name : $t); $($tail)*)
    };
    (@arm $env:ident; mut $name:ident : $t:ty => $($tail:tt)*) => {
        $crate::msg!(@body $env; (mut $name : $t); $($tail)*)
    };
    (@arm $env:ident; mut $name:ident : $t:ty =!> $answer:ident => $($tail:tt)*) => {
        $crate::msg!(@body $env; (ask (mut $name) $answer : $t); $($tail)*)
    };
    (@arm $env:ident; _ : $t:ty => $($tail:tt)*) => {
        $crate::msg!(@body $env; (_ : $t); $($tail)*)
    };
    (@arm $env:ident; _ : $t:ty =!> $answer:ident => $($tail:tt)*) => {
        $crate::msg!(@body $env; (ask (_) $answer : $t); $($tail)*)
    };
    (@arm $env:ident; $name:ident : $t:ty => $($tail:tt)*) => {
        $crate::msg!(@body $env; ($name : $t); $($tail)*)
    };
    (@arm $env:ident; $name:ident : $t:ty =!> $answer:ident => $($tail:tt)*) => {
        $crate::msg!(@body $env; (ask ($name) $answer : $t); $($tail)*)
    };
    (@arm $env:ident; _ => $($tail:tt)*) => {
        $crate::msg!(@body $env; (fallback _); $($tail)*)
    };
    (@arm $env:ident; mut $other:ident => $($tail:tt)*) => {
        $crate::msg!(@body $env; (fallback mut $other); $($tail)*)
    };
    (@arm $env:ident; $other:ident => $($tail:tt)*) => {
        $crate::msg!(@body $env; (fallback $other); $($tail)*)
    };
    (@arm $env:ident;) => {
        ::core::compile_error!(
            "msg! needs a fallback arm last: `other => ...` (gets the envelope) or `_ => ...`"
        )
    };
    (@arm $env:ident; $($unknown:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "msg!: expected an arm `name: Type => ...`, `ref name: Type => ...`, ",
            "`name: Type =!> answer => ...` or a fallback `other => ...`, found `",
            ::core::stringify!($($unknown)*),
            "`"
        ))
    };

    // Bodies: a block (a comma after it is optional) or an expression and a comma.
    (@body $env:ident; $head:tt; $body:block , $($rest:tt)*) => {
        $crate::msg!(@emit $env; $head; $body; ($($rest)*))
    };
    (@body $env:ident; $head:tt; $body:block $($rest:tt)*) => {
        $crate::msg!(@emit $env; $head; $body; ($($rest)*))
    };
    (@body $env:ident; $head:tt; $body:expr , $($rest:tt)*) => {
        $crate::msg!(@emit $env; $head; { $body }; ($($rest)*))
    };
    (@body $env:ident; $head:tt; $body:expr) => {
        $crate::msg!(@emit $env; $head; { $body }; ())
    };

    // The code of each kind of arm; `$rest` are the arms after it.
    (@emit $env:ident; (ref $name:ident : $t:ty); $body:block; ($($rest:tt)*)) => {
        if let ::core::option::Option::Some($name) = $env.downcast_ref::<$t>() {
            $body
        } else {
            $crate::msg!(@arm $env; $($rest)*)
        }
    };
    (@emit $env:ident; (mut $name:ident : $t:ty); $body:block; ($($rest:tt)*)) => {
        match $env.downcast::<$t>() {
            ::core::result::Result::Ok(mut $name) => $body,
            ::core::result::Result::Err($env) => $crate::msg!(@arm $env; $($rest)*),
        }
    };
    (@emit $env:ident; (_ : $t:ty); $body:block; ($($rest:tt)*)) => {
        match $env.downcast::<$t>() {
            ::core::result::Result::Ok(_) => $body,
            ::core::result::Result::Err($env) => $crate::msg!(@arm $env; $($rest)*),
        }
    };
    (@emit $env:ident; ($name:ident : $t:ty); $body:block; ($($rest:tt)*)) => {
        match $env.downcast::<$t>() {
            ::core::result::Result::Ok($name) => $body,
            ::core::result::Result::Err($env) => $crate::msg!(@arm $env; $($rest)*),
        }
    };
    (@emit $env:ident; (ask ($($name:tt)+) $answer:ident : $t:ty); $body:block; ($($rest:tt)*)) => {
        match $env.into_request::<$t>() {
            ::core::result::Result::Ok(($($name)+, $answer)) => $body,
            ::core::result::Result::Err($env) => $crate::msg!(@arm $env; $($rest)*),
        }
    };
    (@emit $env:ident; (fallback _); $body:block; ()) => {{
        ::core::mem::drop($env);
        $body
    }};
    (@emit $env:ident; (fallback mut $other:ident); $body:block; ()) => {{
        let mut $other: $crate::mailbox::Envelope = $env;
        $body
    }};
    (@emit $env:ident; (fallback $other:ident); $body:block; ()) => {{
        let $other: $crate::mailbox::Envelope = $env;
        $body
    }};
    (@emit $env:ident; (fallback $($other:tt)+); $body:block; ($($rest:tt)+)) => {
        ::core::compile_error!("msg!: the fallback arm must be the last arm")
    };

    // The entry point (last, so that the internal `@` rules above are tried first).
    ($envelope:expr, $($arms:tt)*) => {{
        let __ravelin_envelope: $crate::mailbox::Envelope = $envelope;
        $crate::msg!(@arm __ravelin_envelope; $($arms)*)
    }};
}

static_assertions::assert_impl_all!(Envelope: Send, Unpin);
static_assertions::assert_not_impl_any!(Envelope: Sync);
static_assertions::assert_impl_all!(Answer: Send, Sync);
