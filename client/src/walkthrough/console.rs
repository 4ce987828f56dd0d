//! The walkthrough's console output: numbered steps, one colour per component (browser
//! yellow, client blue, provider magenta, resource green), plain text when colour is off.

use std::io::Write;

use owo_colors::OwoColorize;

use crate::timeline::{Exchange, Lane, Outcome};

/// Writes the tour.
pub struct Console<'a> {
    out: &'a mut (dyn Write + Send),
    colour: bool,
}

/// Indentation of an exchange's details.
const INDENT: &str = "      ";

impl<'a> Console<'a> {
    /// A console writing to `out`, coloured or not.
    pub fn new(out: &'a mut (dyn Write + Send), colour: bool) -> Console<'a> {
        Console { out, colour }
    }

    fn paint(&self, text: &str, style: Style) -> String {
        if !self.colour {
            return text.to_owned();
        }
        match style {
            Style::Lane(Lane::Browser) => text.yellow().bold().to_string(),
            Style::Lane(Lane::Client) => text.blue().bold().to_string(),
            Style::Lane(Lane::Provider) => text.magenta().bold().to_string(),
            Style::Lane(Lane::Resource) => text.green().bold().to_string(),
            Style::Heading => text.bold().to_string(),
            Style::Dim => text.dimmed().to_string(),
            Style::Good => text.green().bold().to_string(),
            Style::Bad => text.red().bold().to_string(),
            Style::Redirect => text.cyan().to_string(),
        }
    }

    fn line(&mut self, text: &str) -> std::io::Result<()> {
        writeln!(self.out, "{text}")
    }

    /// A blank line.
    pub fn blank(&mut self) -> std::io::Result<()> {
        self.line("")
    }

    /// The banner at the top.
    pub fn banner(&mut self, title: &str, subtitle: &str) -> std::io::Result<()> {
        let rule = "═".repeat(78);
        self.line(&self.paint(&rule, Style::Dim))?;
        self.line(&self.paint(&format!("  {title}"), Style::Heading))?;
        self.line(&format!("  {subtitle}"))?;
        let legend = format!(
            "  {} {} {} {}",
            self.paint("■ browser", Style::Lane(Lane::Browser)),
            self.paint("■ client", Style::Lane(Lane::Client)),
            self.paint("■ provider", Style::Lane(Lane::Provider)),
            self.paint("■ resource", Style::Lane(Lane::Resource)),
        );
        self.line(&legend)?;
        self.line(&self.paint(&rule, Style::Dim))
    }

    /// A step heading: `━━ Step 3 · Title ━━━ (spec)`.
    pub fn heading(&mut self, label: &str, title: &str, intro: &str) -> std::io::Result<()> {
        self.blank()?;
        let head = format!("━━ {label} · {title} ");
        let fill = 78usize.saturating_sub(head.chars().count());
        let text = format!("{head}{}", "━".repeat(fill));
        self.line(&self.paint(&text, Style::Heading))?;
        for line in wrap(intro, 74) {
            self.line(&format!("  {line}"))?;
        }
        Ok(())
    }

    /// One exchange with its request, response, decoded tokens and explanation.
    ///
    /// `explain` is false for an exchange of a kind already explained above (the attacks repeat
    /// sign-ins), to keep the tour readable.
    pub fn exchange(
        &mut self,
        letter: char,
        exchange: &Exchange,
        explain: bool,
    ) -> std::io::Result<()> {
        self.blank()?;
        let route = if exchange.is_note() {
            self.paint(
                &format!("[{}]", exchange.from.name().to_lowercase()),
                Style::Lane(exchange.from),
            )
        } else {
            format!(
                "[{} → {}]",
                self.paint(
                    &exchange.from.name().to_lowercase(),
                    Style::Lane(exchange.from)
                ),
                self.paint(&exchange.to.name().to_lowercase(), Style::Lane(exchange.to)),
            )
        };
        let title = self.paint(&exchange.title, Style::Heading);
        self.line(&format!("  {letter}) {route} {title}"))?;
        if let Some(request) = &exchange.request {
            let line = format!("{} {}", request.method, request.url);
            self.line(&format!(
                "{INDENT}{}",
                self.paint(&line, Style::Lane(exchange.from))
            ))?;
            let width = request
                .headers
                .iter()
                .chain(&request.fields)
                .map(|field| field.name.len() + 1)
                .max()
                .unwrap_or(0);
            for header in &request.headers {
                self.line(&format!(
                    "{INDENT}  {:width$} {}",
                    format!("{}:", header.name),
                    header.value
                ))?;
            }
            for field in &request.fields {
                self.line(&format!("{INDENT}  {:width$} {}", field.name, field.value))?;
            }
        }
        if let Some(response) = &exchange.response {
            let style = match response.status {
                200..=299 => Style::Good,
                300..=399 => Style::Redirect,
                _ => Style::Bad,
            };
            self.line(&format!(
                "{INDENT}{}",
                self.paint(&format!("← {}", response.status), style)
            ))?;
            for header in &response.headers {
                self.line(&format!("{INDENT}  {}: {}", header.name, header.value))?;
            }
            if !response.body.is_empty() {
                const MAX_LINES: usize = 40;
                for line in response.body.lines().take(MAX_LINES) {
                    self.line(&format!("{INDENT}  {}", self.paint(line, Style::Dim)))?;
                }
                let hidden = response.body.lines().count().saturating_sub(MAX_LINES);
                if hidden > 0 {
                    self.line(&format!(
                        "{INDENT}  {}",
                        self.paint(&format!("… ({hidden} more lines)"), Style::Dim)
                    ))?;
                }
            }
        }
        for token in &exchange.tokens {
            self.line(&format!(
                "{INDENT}{} (decoded)",
                self.paint(&token.label, Style::Heading)
            ))?;
            self.line(&format!("{INDENT}  header:"))?;
            for line in token.header.lines() {
                self.line(&format!("{INDENT}    {line}"))?;
            }
            self.line(&format!("{INDENT}  payload:"))?;
            for line in token.payload.lines() {
                self.line(&format!("{INDENT}    {line}"))?;
            }
            self.line(&format!("{INDENT}  signature: {}", token.signature))?;
        }
        for note in &exchange.notes {
            let style = if note.starts_with('✗') || exchange.outcome == Outcome::Failed {
                Style::Bad
            } else {
                Style::Good
            };
            let painted = if note.starts_with('✓') || note.starts_with('✗') {
                self.paint(note, style)
            } else {
                note.clone()
            };
            self.line(&format!("{INDENT}{painted}"))?;
        }
        if explain && !exchange.explanation.is_empty() {
            for line in wrap(&exchange.explanation, 70) {
                self.line(&format!(
                    "{INDENT}{}",
                    self.paint(&format!("│ {line}"), Style::Dim)
                ))?;
            }
            if !exchange.spec.is_empty() {
                self.line(&format!(
                    "{INDENT}{}",
                    self.paint(&format!("│ [{}]", exchange.spec), Style::Dim)
                ))?;
            }
        }
        Ok(())
    }

    /// A verdict line: `✓ PASSED`, `✓ REFUSED: reason`, `✗ ...`.
    pub fn verdict(&mut self, good: bool, label: &str, reason: &str) -> std::io::Result<()> {
        let mark = if good { "✓" } else { "✗" };
        let head = self.paint(
            &format!("  {mark} {label}"),
            if good { Style::Good } else { Style::Bad },
        );
        if reason.is_empty() {
            self.line(&head)
        } else {
            self.line(&format!("{head} {reason}"))
        }
    }

    /// Free text, wrapped and indented.
    pub fn text(&mut self, text: &str) -> std::io::Result<()> {
        for line in wrap(text, 74) {
            self.line(&format!("  {line}"))?;
        }
        Ok(())
    }

    /// Flushes the output.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

#[derive(Clone, Copy)]
enum Style {
    Lane(Lane),
    Heading,
    Dim,
    Good,
    Bad,
    Redirect,
}

/// Greedy word wrap.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_output_has_no_escape_codes_and_coloured_output_has() {
        let exchange = Exchange::request(
            Lane::Client,
            Lane::Provider,
            "Token",
            "POST",
            "http://x/token",
        )
        .field("client_secret", "s3cret")
        .respond(200, Vec::new(), "{}".into())
        .explain("Why.", "RFC 6749 §4.1.3");
        let mut plain = Vec::new();
        Console::new(&mut plain, false)
            .exchange('a', &exchange, true)
            .unwrap();
        let plain = String::from_utf8(plain).unwrap();
        assert!(!plain.contains('\u{1b}'), "{plain}");
        assert!(plain.contains("[client → provider] Token"));
        assert!(plain.contains("•••"));
        assert!(!plain.contains("s3cret"));
        let mut coloured = Vec::new();
        Console::new(&mut coloured, true)
            .exchange('a', &exchange, true)
            .unwrap();
        assert!(String::from_utf8(coloured).unwrap().contains('\u{1b}'));
    }

    #[test]
    fn wrap_keeps_words_whole() {
        assert_eq!(wrap("aa bb cc", 5), vec!["aa bb", "cc"]);
        assert_eq!(wrap("", 5), Vec::<String>::new());
    }
}
