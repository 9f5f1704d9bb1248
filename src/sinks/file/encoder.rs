use crate::sinks::Delivery;

/// One line of the file: the object's JSON and a newline (JSON strings escape newlines, so one object is
/// always exactly one line).
pub fn encode_line(delivery: &Delivery, out: &mut Vec<u8>) {
    // Serializing a serde_json::Value to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, &delivery.body);
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_object_one_line() {
        let delivery = Delivery {
            object_id: "note--1".into(),
            modified: chrono::Utc::now(),
            object_type: "note".into(),
            tlp: None,
            collection: "c".into(),
            body: json!({"type": "note", "content": "two\nlines"}),
            attempts: 0,
        };
        let mut out = Vec::new();
        encode_line(&delivery, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches('\n').count(), 1);
        assert!(text.ends_with('\n'));
        let back: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(back["content"], "two\nlines");
    }
}
