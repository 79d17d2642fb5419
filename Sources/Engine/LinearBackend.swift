import Compiler
import Protocols

/// How one party computes the linear steps (Conv, Gemm, per-channel scale) of the secure program on
/// its share.
///
/// Contract: both parties call `linear` for the same instruction at the same time; the returned
/// shares add up (mod 2^ℓ) to W·x + b at scale 2s, where x is the shared input at scale s, W the
/// vendor's weights encoded at scale s and b its bias encoded at scale 2s (the vendor adds b). The
/// hospital learns nothing about W; the vendor nothing about x.
public protocol LinearBackend: AnyObject {
    /// Runs linear step `index` of the program (`instruction`, whose operands are `step`).
    func linear(_ index: Int, _ instruction: Instruction, _ step: LinearStep, input: ArithmeticShare, batch: Int) throws -> ArithmeticShare
}
