//! STIX 2.1 patterning: parser and the simple comparisons the store indexes. (In progress.)
