//! Which sheet columns jada owns: header name -> charter field. Columns are found by
//! header, so the office may move them; columns not mapped are never written.

use jada_core::Charter;

/// A charter field that can fill a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    CharterId,
    Date,
    StartTime,
    EndTime,
    Vessel,
    GuestName,
    GuestCount,
    Status,
    Captain,
    Crew,
}

impl Field {
    pub const ALL: [(&'static str, Field); 10] = [
        ("charter_id", Field::CharterId),
        ("date", Field::Date),
        ("start_time", Field::StartTime),
        ("end_time", Field::EndTime),
        ("vessel", Field::Vessel),
        ("guest_name", Field::GuestName),
        ("guest_count", Field::GuestCount),
        ("status", Field::Status),
        ("captain", Field::Captain),
        ("crew", Field::Crew),
    ];

    pub fn parse(s: &str) -> Option<Field> {
        Field::ALL.iter().find(|(n, _)| *n == s.trim()).map(|(_, f)| *f)
    }

    pub fn name(&self) -> &'static str {
        Field::ALL
            .iter()
            .find(|(_, f)| f == self)
            .map(|(n, _)| *n)
            .unwrap_or("?")
    }

    /// The cell text for a charter (what the office reads).
    pub fn render(&self, c: &Charter) -> String {
        match self {
            Field::CharterId => c.charter_id.to_string(),
            Field::Date => c.charter_date.to_string(),
            Field::StartTime => c.start_time.format("%H:%M").to_string(),
            Field::EndTime => c.end_time.format("%H:%M").to_string(),
            Field::Vessel => c.vessel_name.clone(),
            Field::GuestName => c.guest_name.clone(),
            Field::GuestCount => c.guest_count.to_string(),
            Field::Status => c.status.to_string(),
            Field::Captain => c.captain_assigned.as_ref().map(|x| x.to_string()).unwrap_or_default(),
            Field::Crew => c
                .crew_assigned
                .iter()
                .map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// The mapped columns in the order a new header row lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns(pub Vec<(String, Field)>);

impl Default for Columns {
    fn default() -> Self {
        Columns(
            [
                ("Charter ID", Field::CharterId),
                ("Date", Field::Date),
                ("Start", Field::StartTime),
                ("End", Field::EndTime),
                ("Vessel", Field::Vessel),
                ("Guest", Field::GuestName),
                ("Guests", Field::GuestCount),
                ("Status", Field::Status),
                ("Captain", Field::Captain),
                ("Crew", Field::Crew),
            ]
            .into_iter()
            .map(|(h, f)| (h.to_string(), f))
            .collect(),
        )
    }
}

impl Columns {
    /// From `columns = { "Header" = "field", ... }`; the key column (`charter_id`) is required.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<Columns, String> {
        let mut out = Vec::new();
        for (header, field) in pairs {
            let f = Field::parse(&field).ok_or_else(|| {
                format!(
                    "`{field}` (for column `{header}`) is not a charter field: use one of {}",
                    Field::ALL.map(|(n, _)| n).join(", ")
                )
            })?;
            out.push((header, f));
        }
        if !out.iter().any(|(_, f)| *f == Field::CharterId) {
            return Err("the mapping needs a column for `charter_id`: it is how rows are matched to charters".into());
        }
        Ok(Columns(out))
    }

    pub fn header(&self, field: Field) -> Option<&str> {
        self.0.iter().find(|(_, f)| *f == field).map(|(h, _)| h.as_str())
    }
}
