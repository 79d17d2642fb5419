// The one two-party runner of the tests is `Transport.TwoPartyRunner` (also used by the
// benchmarks): both parties on two threads over an in-memory channel pair, the failing side's end
// closed so the other does not wait, and both ends checked to be drained at the end.
@_exported import Transport
