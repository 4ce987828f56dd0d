//! Demo relying party (see issue 4).
