//! Lays out the timeline as a sequence diagram (four lanes: Browser, Client, Provider,
//! Resource). The template draws the shapes; this module only computes coordinates and labels,
//! so the SVG is rendered on the server with askama's escaping and no script.

use crate::timeline::{Exchange, Lane, Outcome};

const LANE_GAP: usize = 230;
const LEFT: usize = 115;
const TOP: usize = 64;
const REQUEST_ROW: usize = 34;
const RESPONSE_ROW: usize = 26;
const NOTE_ROW: usize = 40;
const LABEL_CHARS: usize = 34;
/// Notes may spread over two lanes (a lane is 230 px).
const NOTE_CHARS: usize = 60;

/// One lane: its header box and lifeline.
#[derive(Debug)]
pub struct LaneLine {
    /// Centre x.
    pub x: usize,
    /// Left edge of the header box.
    pub box_x: usize,
    /// Name.
    pub name: &'static str,
    /// CSS class.
    pub css: &'static str,
}

/// An arrow with its label.
#[derive(Debug)]
pub struct Arrow {
    /// Start x.
    pub x1: usize,
    /// End x (the arrowhead).
    pub x2: usize,
    /// Height.
    pub y: usize,
    /// Label position.
    pub label_x: usize,
    /// Label baseline.
    pub label_y: usize,
    /// The label ("3. POST /token").
    pub label: String,
    /// CSS class: the sender's lane, plus `reply` / `refused`.
    pub css: String,
    /// Marker id of the arrowhead.
    pub marker: &'static str,
}

/// A note box on one lane (work without HTTP).
#[derive(Debug)]
pub struct NoteBox {
    /// Left edge.
    pub x: usize,
    /// Top edge.
    pub y: usize,
    /// Width.
    pub width: usize,
    /// Text x (centre).
    pub text_x: usize,
    /// Text baseline.
    pub text_y: usize,
    /// The label.
    pub label: String,
    /// CSS class.
    pub css: String,
}

/// The whole diagram.
#[derive(Debug)]
pub struct Diagram {
    /// SVG width.
    pub width: usize,
    /// SVG height.
    pub height: usize,
    /// Lifeline bottom.
    pub lifeline_end: usize,
    /// Lanes.
    pub lanes: Vec<LaneLine>,
    /// Arrows (requests and responses).
    pub arrows: Vec<Arrow>,
    /// Notes.
    pub notes: Vec<NoteBox>,
}

fn lane_x(lane: Lane) -> usize {
    LEFT + lane.index() * LANE_GAP
}

fn shorten(label: &str) -> String {
    shorten_to(label, LABEL_CHARS)
}

fn shorten_to(label: &str, limit: usize) -> String {
    if label.chars().count() <= limit {
        return label.to_owned();
    }
    let head: String = label.chars().take(limit - 1).collect();
    format!("{head}…")
}

fn marker(lane: Lane) -> &'static str {
    match lane {
        Lane::Browser => "head-browser",
        Lane::Client => "head-client",
        Lane::Provider => "head-provider",
        Lane::Resource => "head-resource",
    }
}

/// Lays out `exchanges`; the numbers match the list below the diagram (1-based).
pub fn layout(exchanges: &[Exchange]) -> Diagram {
    let lanes = Lane::ALL
        .iter()
        .map(|lane| LaneLine {
            x: lane_x(*lane),
            box_x: lane_x(*lane) - 60,
            name: lane.name(),
            css: lane.css(),
        })
        .collect();
    let mut arrows = Vec::new();
    let mut notes = Vec::new();
    let mut y = TOP + 24;
    for (index, exchange) in exchanges.iter().enumerate() {
        let number = index + 1;
        let from = lane_x(exchange.from);
        let to = lane_x(exchange.to);
        if exchange.is_note() {
            let label = shorten_to(&format!("{number}. {}", exchange.title), NOTE_CHARS);
            // About 6.6 px per character at 12 px, plus padding.
            let width = (label.chars().count() * 33 / 5 + 24).max(120);
            notes.push(NoteBox {
                x: from.saturating_sub(width / 2),
                y,
                width,
                text_x: from,
                text_y: y + 16,
                label,
                css: format!("note {} {}", exchange.from.css(), exchange.outcome.css()),
            });
            y += NOTE_ROW;
            continue;
        }
        y += 10;
        arrows.push(Arrow {
            x1: from,
            x2: to,
            y,
            label_x: (from + to) / 2,
            label_y: y - 6,
            label: shorten(&format!("{number}. {}", exchange.headline())),
            css: format!("msg {}", exchange.from.css()),
            marker: marker(exchange.from),
        });
        y += REQUEST_ROW - 10;
        if let Some(response) = &exchange.response {
            let refused = response.status >= 400 || exchange.outcome == Outcome::Failed;
            arrows.push(Arrow {
                x1: to,
                x2: from,
                y,
                label_x: (from + to) / 2,
                label_y: y - 5,
                label: status_label(response.status),
                css: format!(
                    "msg reply {}{}",
                    exchange.to.css(),
                    if refused { " refused" } else { "" }
                ),
                marker: if refused {
                    "head-refused"
                } else {
                    marker(exchange.to)
                },
            });
            y += RESPONSE_ROW;
        }
    }
    let lifeline_end = y + 10;
    Diagram {
        width: LEFT * 2 + LANE_GAP * 3,
        height: lifeline_end + 10,
        lifeline_end,
        lanes,
        arrows,
        notes,
    }
}

fn status_label(status: u16) -> String {
    let reason = match status {
        200 => "OK",
        201 => "Created",
        302 => "Found",
        303 => "See Other",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Server Error",
        _ => "",
    };
    format!("{status} {reason}").trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrows_go_between_lanes_and_replies_come_back() {
        let exchanges = vec![
            Exchange::request(
                Lane::Client,
                Lane::Provider,
                "Token",
                "POST",
                "http://127.0.0.1:8080/token",
            )
            .respond(200, Vec::new(), String::new()),
            Exchange::note(Lane::Client, "Validate the ID token"),
            Exchange::request(
                Lane::Client,
                Lane::Resource,
                "API",
                "GET",
                "http://127.0.0.1:8081/api/notes",
            )
            .respond(403, Vec::new(), String::new()),
            Exchange::request(
                Lane::Browser,
                Lane::Provider,
                "Authorize",
                "GET",
                "http://127.0.0.1:8080/authorize",
            ),
        ];
        let diagram = layout(&exchanges);
        assert_eq!(diagram.lanes.len(), 4);
        assert_eq!(diagram.arrows.len(), 5);
        assert_eq!(diagram.notes.len(), 1);
        let token = &diagram.arrows[0];
        assert_eq!(
            (token.x1, token.x2),
            (lane_x(Lane::Client), lane_x(Lane::Provider))
        );
        assert_eq!(token.label, "1. POST /token");
        assert_eq!(diagram.arrows[1].label, "200 OK");
        assert_eq!(diagram.arrows[1].x2, lane_x(Lane::Client));
        assert!(diagram.arrows[3].css.contains("refused"));
        assert_eq!(diagram.arrows[4].label, "4. GET /authorize");
        assert!(diagram.arrows.windows(2).all(|pair| pair[0].y < pair[1].y));
        assert!(diagram.height > diagram.arrows[4].y);
    }
}
