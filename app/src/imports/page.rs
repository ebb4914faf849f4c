//! The import pages (written next).
