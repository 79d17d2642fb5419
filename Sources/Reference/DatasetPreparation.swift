import Datasets
import IR

extension Dataset {
    /// This dataset ready for `graph`: an image folder preprocessed as the model declares (its
    /// `preprocessing` metadata), its multi-label columns matched to the declared findings; any
    /// other dataset as is.
    public func preparing(for graph: Graph) throws -> any Dataset {
        try preparing(preprocessing: graph.preprocessing, inputShape: graph.inputShape, findings: graph.declarations?.findings)
    }
}
