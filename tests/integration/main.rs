//! The facade's integration tests (the article, workloads, examples,
//! models, the book's exercises, links, the browser view), one module
//! per file, in one binary: one link instead of one per file.

mod book_exercises;
mod digits;
mod docs_links;
mod examples_learn;
mod higher_order;
mod html_view;
mod real_models;
mod seed_xor;
mod tensor_workloads;
mod workloads;
mod xor_nn;
