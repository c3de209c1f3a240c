//! Command-line options for the examples: each example lists its options
//! once (name, value or switch, help), and gets `--help`, errors for
//! unknown flags and missing values (exit code 2), and typed values.
//! Parsing is lexopt's (strict, no dependencies).
#![allow(dead_code)]

use std::collections::HashMap;
use std::str::FromStr;

/// One option: `--name VALUE` (with `value` naming the value) or a switch.
pub struct Opt {
    pub name: &'static str,
    pub value: Option<&'static str>,
    pub help: &'static str,
}

/// A switch: `--name`.
pub const fn switch(name: &'static str, help: &'static str) -> Opt {
    Opt {
        name,
        value: None,
        help,
    }
}

/// An option with a value: `--name VALUE`.
pub const fn value(name: &'static str, value: &'static str, help: &'static str) -> Opt {
    Opt {
        name,
        value: Some(value),
        help,
    }
}

/// A positional argument (`program VALUE`): at most one per program.
pub const fn positional(value: &'static str, help: &'static str) -> Opt {
    Opt {
        name: "",
        value: Some(value),
        help,
    }
}

/// What was given.
pub struct Args {
    program: &'static str,
    switches: Vec<&'static str>,
    values: HashMap<&'static str, String>,
    positional: Option<String>,
}

fn help_text(program: &str, about: &str, opts: &[Opt]) -> String {
    let mut out = format!("{program}: {about}\n\nOptions:\n");
    let mut rows: Vec<(String, &str)> = opts
        .iter()
        .map(|o| match o.value {
            Some(v) if o.name.is_empty() => (v.to_string(), o.help),
            Some(v) => (format!("--{} {v}", o.name), o.help),
            None => (format!("--{}", o.name), o.help),
        })
        .collect();
    rows.push(("--help".to_string(), "this text"));
    let width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    for (l, h) in rows {
        out.push_str(&format!("  {l:width$}  {h}\n"));
    }
    out
}

/// Parses the process's arguments against `opts`; prints help and exits 0
/// on `--help`, prints the error and help and exits 2 on anything else it
/// does not know.
pub fn parse(program: &'static str, about: &str, opts: &[Opt]) -> Args {
    let help = help_text(program, about, opts);
    match parse_from(program, opts, lexopt::Parser::from_env()) {
        Ok(Some(args)) => args,
        Ok(None) => {
            print!("{help}");
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!("{program}: {e}\n\n{help}");
            std::process::exit(2)
        }
    }
}

pub fn parse_from(
    program: &'static str,
    opts: &[Opt],
    mut p: lexopt::Parser,
) -> Result<Option<Args>, lexopt::Error> {
    use lexopt::prelude::*;
    let mut args = Args {
        program,
        switches: Vec::new(),
        values: HashMap::new(),
        positional: None,
    };
    let takes_positional = opts.iter().any(|o| o.name.is_empty());
    while let Some(arg) = p.next()? {
        match arg {
            Long("help") | Short('h') => return Ok(None),
            Value(v) if takes_positional && args.positional.is_none() => {
                args.positional = Some(v.string()?);
            }
            Long(name) => match opts.iter().find(|o| !o.name.is_empty() && o.name == name) {
                Some(o) if o.value.is_some() => {
                    let v = p.value()?.string()?;
                    args.values.insert(o.name, v);
                }
                Some(o) => args.switches.push(o.name),
                None => return Err(arg.unexpected()),
            },
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(Some(args))
}

impl Args {
    /// The positional argument, if given.
    pub fn positional(&self) -> Option<String> {
        self.positional.clone()
    }

    /// Whether `--name` was given.
    pub fn switch(&self, name: &str) -> bool {
        self.switches.contains(&name)
    }

    /// `--name`'s value as text, if given.
    pub fn text(&self, name: &str) -> Option<String> {
        self.values.get(name).cloned()
    }

    /// `--name`'s value parsed, or `default`; a value that does not parse
    /// is an error naming the option (exit code 2).
    pub fn get<T: FromStr>(&self, name: &str, default: T) -> T {
        match self.values.get(name) {
            None => default,
            Some(v) => v.parse().unwrap_or_else(|_| {
                eprintln!("{}: --{name} {v:?} is not a valid value", self.program);
                std::process::exit(2)
            }),
        }
    }
}
